"""The spec against torch.nn.functional where their conventions coincide (d <= 3).

Where they differ, docs/spec-vs-torch.md lists the difference and a test below
(``test_difference_*``) asserts that it still exists, so the list cannot go stale.
"""

from __future__ import annotations

import math

import naive_reference as naive
import numpy as np
import pytest
from spec_helpers import U, assert_same, assert_within, ulps

from ndpool import spec

torch = pytest.importorskip("torch")
F = torch.nn.functional

DIMS = (1, 2, 3)
CASES = 10


def _torch_config(rng, d, dilation=True):
    """A random configuration valid for both torch (padding <= kernel/2) and the spec."""
    while True:
        spatial = tuple(int(v) for v in rng.integers(1, 7, d))
        kernel = tuple(int(v) for v in rng.integers(1, 4, d))
        stride = tuple(int(v) for v in rng.integers(1, 4, d))
        dil = tuple(int(v) for v in rng.integers(1, 3, d)) if dilation else (1,) * d
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        cfg = {
            "kernel_size": kernel,
            "stride": stride,
            "padding": padding,
            "dilation": dil,
            "ceil_mode": bool(rng.random() < 0.5),
        }
        outs, wins = naive.sliding_windows(spatial, **cfg)
        if min(outs) < 1:
            continue
        if not all(any(real for _, real, _ in taps) for taps in wins.values()):
            continue  # an all-padding window: a listed difference, tested on its own
        return spatial, cfg


def _t(x):
    return torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(True)


def _grad(y, x, y_bar):
    (g,) = torch.autograd.grad(y, x, torch.from_numpy(y_bar))
    return g.numpy()


# -- agreement ---------------------------------------------------------------------------
@pytest.mark.parametrize("d", DIMS)
def test_max_pool_agrees_with_torch(d):
    rng = np.random.default_rng(10 + d)
    fn = getattr(F, f"max_pool{d}d")
    for i in range(CASES):
        spatial, cfg = _torch_config(rng, d)
        shape = (int(rng.integers(1, 3)), 2, *spatial)
        x = rng.integers(-2, 3, shape).astype(np.float64)  # many ties
        if i % 3 == 2:
            x[rng.random(shape) < 0.2] = -np.inf
        what = f"max_pool{d}d x.shape={shape} cfg={cfg}"
        xt = _t(x)
        yt, it = fn(xt, **cfg, return_indices=True)
        y, idx = spec.max_pool(x, **cfg, return_indices=True)
        assert_same(y, yt.detach().numpy(), what + " values")
        assert_same(idx, it.numpy(), what + " indices")
        y_bar = rng.integers(-3, 4, y.shape).astype(np.float64)
        (x_bar,) = spec.vjp("max_pool", (x,), y_bar, **cfg)
        assert_same(x_bar, _grad(yt, xt, y_bar), what + " gradient")


@pytest.mark.parametrize("d", DIMS)
def test_avg_pool_agrees_with_torch(d):
    rng = np.random.default_rng(20 + d)
    fn = getattr(F, f"avg_pool{d}d")
    for i in range(CASES):
        spatial, cfg = _torch_config(rng, d, dilation=False)
        if d == 3 and any(n < k for n, k in zip(spatial, cfg["kernel_size"])):
            continue  # torch's avg_pool3d rejects these (a listed difference)
        del cfg["dilation"]  # torch's avg_pool has none (a listed difference)
        cfg["count_include_pad"] = bool(i % 2)
        if d > 1 and i % 4 == 3:
            cfg["divisor_override"] = int(rng.choice([-2, 1, 3, 7]))
        shape = (int(rng.integers(1, 3)), 2, *spatial)
        x = rng.standard_normal(shape)
        what = f"avg_pool{d}d x.shape={shape} cfg={cfg}"
        xt = _t(x)
        yt = fn(xt, **cfg)
        y = spec.avg_pool(x, **cfg)
        # both sum <= K terms in float64 (in different orders), then divide once:
        # |difference| <= 2 (gamma_K sum|x| / |divisor| + u |y|)
        k = math.prod(cfg["kernel_size"])
        mag = np.abs(spec.avg_pool(np.abs(x), **cfg))
        assert_within(y, yt.detach().numpy(), 2 * (ulps(k) * mag + U * np.abs(y)), what)
        y_bar = rng.standard_normal(y.shape)
        (x_bar,) = spec.vjp("avg_pool", (x,), y_bar, **cfg)
        # a cell is read by <= prod(ceil(k/s)) windows, each term rounds at most twice
        reads = math.prod(-(-k_ // s) for k_, s in zip(cfg["kernel_size"], cfg["stride"]))
        mag = np.abs(spec.vjp("avg_pool", (x,), np.abs(y_bar), **cfg)[0])
        bound = 2 * (ulps(reads) + 2 * U) * mag
        assert_within(x_bar, _grad(yt, xt, y_bar), bound, what + " gradient")


@pytest.mark.parametrize("d", DIMS)
def test_lp_pool_signed_agrees_with_torch_on_full_windows(d):
    rng = np.random.default_rng(30 + d)
    fn = getattr(F, f"lp_pool{d}d")
    for i in range(CASES):
        spatial = tuple(int(v) for v in rng.integers(2, 7, d))
        kernel = tuple(int(rng.integers(1, min(3, n) + 1)) for n in spatial)
        stride = tuple(int(v) for v in rng.integers(1, 3, d))
        p = float(rng.choice([1.0, 2.0, 3.0, 1.5]))
        shape = (1, 2, *spatial)
        # positive cells: every window's sum is positive, so any p is defined
        x = rng.uniform(0.5, 2.0, shape) if p == 1.5 or i % 2 else rng.standard_normal(shape)
        # no padding, no ceil_mode: full windows (torch's lp_pool1d wants ints)
        cfg = {"kernel_size": kernel, "stride": stride}
        tcfg = {"kernel_size": kernel[0], "stride": stride[0]} if d == 1 else cfg
        what = f"lp_pool{d}d p={p} x.shape={shape} cfg={cfg}"
        xt = _t(x)
        yt = fn(xt, p, **tcfg)
        y = spec.lp_pool(x, p, sign="signed", **cfg)
        # relative error of sum x^p <= gamma_(K+p+3) sum|x|^p in both; y = S^(1/p)
        k = math.prod(kernel)
        mag = spec.lp_pool(np.abs(x), p, sign="signed", **cfg)
        with np.errstate(divide="ignore", invalid="ignore"):
            amp = np.where(y != 0, np.abs(mag / y) ** p, 1.0)
        bound = 4 * (ulps(k + 8) * amp * np.abs(y) + U * np.abs(y))
        assert_within(y, yt.detach().numpy(), bound, what)
        if i % 2:  # gradients where every cell is positive (no pow of a negative base)
            y_bar = rng.standard_normal(y.shape)
            (x_bar, _) = spec.vjp("lp_pool", (x, p), y_bar, sign="signed", **cfg)
            g = _grad(yt, xt, y_bar)
            mag = np.abs(spec.vjp("lp_pool", (x, p), np.abs(y_bar), sign="signed", **cfg)[0])
            assert_within(x_bar, g, 4 * ulps(2 * k + 16) * p * mag, what + " gradient")


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("d", DIMS)
def test_adaptive_pool_agrees_with_torch(d, kind):
    rng = np.random.default_rng(40 + d)
    for _ in range(CASES):
        spatial = tuple(int(v) for v in rng.integers(1, 8, d))
        out = tuple(int(v) for v in rng.integers(1, 9, d))
        shape = (int(rng.integers(1, 3)), 2, *spatial)
        what = f"adaptive_{kind}_pool{d}d x.shape={shape} output_size={out}"
        if kind == "max":
            x = rng.integers(-2, 3, shape).astype(np.float64)
            xt = _t(x)
            yt, it = getattr(F, f"adaptive_max_pool{d}d")(xt, out, return_indices=True)
            y, idx = spec.adaptive_max_pool(x, output_size=out, return_indices=True)
            assert_same(y, yt.detach().numpy(), what)
            assert_same(idx, it.numpy(), what + " indices")
            y_bar = rng.integers(-3, 4, y.shape).astype(np.float64)
            (x_bar,) = spec.vjp("adaptive_max_pool", (x,), y_bar, output_size=out)
            assert_same(x_bar, _grad(yt, xt, y_bar), what + " gradient")
        else:
            x = rng.standard_normal(shape)
            xt = _t(x)
            yt = getattr(F, f"adaptive_avg_pool{d}d")(xt, out)
            y = spec.adaptive_avg_pool(x, output_size=out)
            k = math.prod(-(-n // o) + 1 for n, o in zip(spatial, out))  # max bin size
            mag = np.abs(spec.adaptive_avg_pool(np.abs(x), output_size=out))
            assert_within(y, yt.detach().numpy(), 2 * (ulps(k) * mag + U * np.abs(y)), what)
            y_bar = rng.standard_normal(y.shape)
            (x_bar,) = spec.vjp("adaptive_avg_pool", (x,), y_bar, output_size=out)
            mag = np.abs(spec.vjp("adaptive_avg_pool", (x,), np.abs(y_bar), output_size=out)[0])
            reads = math.prod(-(-o // n) + 1 for n, o in zip(spatial, out))
            bound = 2 * (ulps(reads) + 2 * U) * mag
            assert_within(x_bar, _grad(yt, xt, y_bar), bound, what + " gradient")


# -- the listed differences (docs/spec-vs-torch.md) --------------------------------------
def test_difference_nan_index_torch_last_spec_first():
    x = np.array([[[1.0, np.nan, 3.0, np.nan]]])
    _, it = F.max_pool1d(torch.from_numpy(x), 4, return_indices=True)
    _, idx = spec.max_pool(x, kernel_size=4, return_indices=True)
    assert it.item() == 3 and idx.item() == 1


def test_difference_nan_gradient_goes_to_a_different_cell():
    x = np.array([[[1.0, np.nan, 3.0, np.nan]]])
    xt = _t(x)
    g = _grad(F.max_pool1d(xt, 4), xt, np.ones((1, 1, 1)))
    (x_bar,) = spec.vjp("max_pool", (x,), np.ones((1, 1, 1)), kernel_size=4)
    assert g.tolist() == [[[0, 0, 0, 1]]] and x_bar.tolist() == [[[0, 1, 0, 0]]]


def test_difference_all_padding_window_index():
    # L=2, kernel 2, dilation 3, padding 1: the only window reads cells -1 and 2
    x = np.array([[[1.0, 2.0]]])
    cfg = {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 3}
    yt, it = F.max_pool1d(torch.from_numpy(x), **cfg, return_indices=True)
    y, idx = spec.max_pool(x, **cfg, return_indices=True)
    assert yt.item() == -np.inf and y.item() == -np.inf
    assert not 0 <= it.item() < 2, "torch's index is out of the input's range"
    assert idx.item() == -1


def test_difference_lp_partial_ceil_window():
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    yt = F.lp_pool1d(torch.from_numpy(x), 2, 2, 2, ceil_mode=True)
    y = spec.lp_pool(x, 2.0, kernel_size=2, stride=2, ceil_mode=True, sign="signed")
    # the last window holds only the cell 5: spec 5, torch sqrt(2 * 5^2) (mean times kernel)
    assert y[0, 0, -1] == 5.0
    assert yt[0, 0, -1].item() == pytest.approx(5.0 * math.sqrt(2.0), rel=1e-15)
    # torch's rule is the named convention partial_window="rescaled"
    cfg = dict(kernel_size=2, stride=2, ceil_mode=True, sign="signed", partial_window="rescaled")
    assert spec.lp_pool(x, 2.0, **cfg) == pytest.approx(yt.numpy(), rel=1e-15)


def test_difference_padding_check_ignores_dilation():
    x = np.arange(6.0).reshape(1, 1, 6)
    cfg = {"kernel_size": 2, "stride": 1, "padding": 2, "dilation": 3}  # eff 4, half 2
    assert spec.max_pool(x, **cfg).shape == (1, 1, 7)  # (6 + 2 + 2 - 4) / 1 + 1
    with pytest.raises(RuntimeError, match="padding should be at most half of kernel size"):
        F.max_pool1d(torch.from_numpy(x), **cfg)


def test_difference_padding_above_half_the_kernel():
    x = np.arange(1.0, 4.0).reshape(1, 1, 3)
    cfg = {"kernel_size": 2, "stride": 2, "padding": 2}  # the first window reads [-2, -1]
    assert spec.max_pool(x, **cfg).tolist() == [[[-np.inf, 2.0, 3.0]]]
    with pytest.raises(RuntimeError, match="padding should be at most half of kernel size"):
        F.max_pool1d(torch.from_numpy(x), **cfg)


def test_difference_integer_max_pool():
    x = np.array([[[[1, 5, 2, 8]]]], dtype=np.int32)
    want = [[[[5, 8]]]]
    assert spec.max_pool(x, kernel_size=(1, 2)).tolist() == want
    assert F.max_pool2d(torch.from_numpy(x), (1, 2)).tolist() == want  # 2-D: same values
    assert spec.max_pool(x[0], kernel_size=2, padding=((2, 0),)).tolist() == [[[-(2**31), 5, 8]]]
    with pytest.raises(NotImplementedError):
        F.max_pool1d(torch.from_numpy(x[0]), 2)
    with pytest.raises(NotImplementedError):
        F.adaptive_max_pool2d(torch.from_numpy(x), (1, 2))


def test_difference_no_rank_above_3():
    assert not any(hasattr(F, f"{op}_pool4d") for op in ("max", "avg", "lp", "adaptive_max"))
    x = np.zeros((1, 1, 2, 2, 2, 2))
    assert spec.max_pool(x, kernel_size=(2, 2, 2, 2)).shape == (1, 1, 1, 1, 1, 1)


def test_difference_avg_pool_has_no_dilation():
    x = np.arange(5.0).reshape(1, 1, 5)
    with pytest.raises(TypeError, match="dilation"):
        F.avg_pool1d(torch.from_numpy(x), 2, dilation=2)
    assert spec.avg_pool(x, kernel_size=2, stride=1, dilation=2).tolist() == [[[1.0, 2.0, 3.0]]]


def test_difference_avg_pool1d_has_no_divisor_override():
    x = np.arange(4.0).reshape(1, 1, 4)
    with pytest.raises(TypeError, match="divisor_override"):
        F.avg_pool1d(torch.from_numpy(x), 2, divisor_override=1)
    assert spec.avg_pool(x, kernel_size=2, divisor_override=1).tolist() == [[[1.0, 5.0]]]


def test_difference_lp_pool_has_no_padding():
    x = np.ones((1, 1, 4, 4))
    with pytest.raises(TypeError, match="padding"):
        F.lp_pool2d(torch.from_numpy(x), 2, 2, padding=1)
    y = spec.lp_pool(x, 1.0, kernel_size=2, padding=1, sign="signed")  # padded cells absent
    assert y.tolist() == [[[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]]


def test_difference_avg_pool3d_needs_input_at_least_kernel():
    # depth 1, kernel 2, padding 1: two windows; torch's avg_pool3d rejects the input
    # (its max_pool3d and avg_pool2d accept the same geometry)
    x = np.ones((1, 1, 1, 2, 2))
    cfg = {"kernel_size": (2, 1, 1), "stride": 1, "padding": (1, 0, 0)}
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        F.avg_pool3d(torch.from_numpy(x), **cfg)
    assert F.max_pool3d(torch.from_numpy(x), **cfg).shape == (1, 1, 2, 2, 2)
    assert spec.avg_pool(x, **cfg).tolist() == [[[[[0.5] * 2] * 2] * 2]]


def test_difference_int_kernel_on_an_unbatched_input():
    # torch knows d from the function name: max_pool2d on [C, H, W] is unbatched.
    # The spec has one function for every d: an int kernel_size means a batched input
    # (C1), so [C, H, W] is read as [N, C, L]; an unbatched call passes a d-tuple.
    x = np.arange(48.0).reshape(2, 4, 6)
    assert F.max_pool2d(torch.from_numpy(x), 2).shape == (2, 2, 3)
    assert spec.max_pool(x, kernel_size=2).shape == (2, 4, 3)
    assert spec.max_pool(x, kernel_size=(2, 2)).shape == (2, 2, 3)


def test_difference_lp_pool_norm_type_inf():
    # torch's (signed) lp_pool takes p = inf and returns max |x|. The spec's signed
    # convention has no p = inf (C10): it is the norm, spelled sign="abs".
    x = np.array([[[-3.0, 1.0]]])
    assert F.lp_pool1d(torch.from_numpy(x), float("inf"), 2).item() == 3.0
    assert spec.lp_pool(x, np.inf, kernel_size=2, sign="abs").item() == 3.0
    with pytest.raises(ValueError, match="C10"):
        spec.lp_pool(x, np.inf, kernel_size=2, sign="signed")
