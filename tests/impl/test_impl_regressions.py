"""Regressions for impl bugs the conformance suite found: each test compares the impl
against the spec (never against the impl's own output) on the configuration that failed."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch
from test_impl_support import assert_matches

from ndpool import impl, spec

INF = float("inf")
NAN = float("nan")
lp_module = importlib.import_module("ndpool.impl.lp")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).numpy()


# -- N = 0: "cannot reshape tensor of 0 elements" in the separable selection's gather ----
@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize(
    "op,cfg",
    [
        ("max_pool", {"kernel_size": (1,)}),
        ("max_pool", {"kernel_size": (2, 2), "padding": 1}),
        ("adaptive_max_pool", {"output_size": (None,)}),
        ("adaptive_max_pool", {"output_size": (3, 2)}),
    ],
)
def test_empty_batch_max_pool_with_indices_and_derivatives(op, cfg, requires_grad):
    d = len(cfg.get("kernel_size", cfg.get("output_size")))
    x = np.zeros((0, 1) + (4,) * d)
    y, index = getattr(spec, op)(x, **cfg, return_indices=True)
    xt = torch.tensor(x, dtype=torch.float16).requires_grad_(requires_grad)
    got, got_index = getattr(impl, op)(xt, **cfg, return_indices=True)
    assert got.shape == y.shape and got_index.shape == index.shape
    assert got.dtype == torch.float16 and got_index.dtype == torch.int64
    if requires_grad:
        (grad,) = torch.autograd.grad(got, xt, torch.ones_like(got))
        (expected,) = spec.vjp(op, (x,), np.ones(y.shape), **cfg)
        assert grad.shape == expected.shape


# -- lp_pool overflow: x^p in the compute dtype became inf; the spec rescales by max|x| --
@pytest.mark.parametrize(
    "dtype,rtol", [(torch.bfloat16, 1e-2), (torch.float16, 2e-3), (torch.float32, 1e-5)]
)
def test_lp_pool_large_values_are_rescaled(dtype, rtol):
    if dtype is torch.float16:  # computed in float32, where (6e4)^40 overflows
        x, cfg, p = np.array([[[6.0e4, -5.0e4, 3.0e4]]]), {"kernel_size": (2,), "stride": 1}, 40.0
    else:  # the conformance suite's case: (3.3e35)^2 overflows float32
        x, cfg, p = np.array([[-3.3100892473159526e35]]), {"kernel_size": (1,)}, 2.0
    xs = _np(torch.tensor(x, dtype=dtype))  # the values the impl sees
    expected = spec.lp_pool(xs, p, **cfg)
    got = impl.lp_pool(torch.tensor(x, dtype=dtype), p, **cfg)
    assert got.dtype == dtype
    assert np.isfinite(expected).all() and np.isfinite(_np(got)).all()
    np.testing.assert_allclose(_np(got), expected, rtol=rtol)


def test_lp_pool_tiny_values_do_not_underflow():
    x = np.array([[[1e-30, -2e-30, 3e-30, 0.0]]], dtype=np.float32)
    cfg = {"kernel_size": 2, "stride": 1}
    expected = spec.lp_pool(x, 3.0, **cfg)
    got = impl.lp_pool(torch.tensor(x), 3.0, **cfg)
    assert (expected > 0).all()
    np.testing.assert_allclose(_np(got), expected, rtol=1e-5)


LP_CASES = [
    ((7,), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((5, 6), {"kernel_size": (2, 3), "stride": 1, "padding": ((1, 0), (0, 1))}),
    ((4, 5), {"kernel_size": 2, "dilation": 2, "padding": 1}),
    ((3, 4, 5), {"kernel_size": (2, 2, 3), "stride": (1, 2, 2), "ceil_mode": True}),
]


def _lp_input(shape, seed, special):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((2, 3) + shape, generator=g, dtype=torch.float64)
    x = torch.where(torch.rand(x.shape, generator=g) < 0.2, 0.0, x)
    if special:
        flat = x.view(-1)
        flat[3], flat[17], flat[40], flat[41] = INF, NAN, -INF, 0.0
    return x


@pytest.mark.parametrize("scaled", [False, True], ids=["direct", "scaled"])
@pytest.mark.parametrize("sign,p", [("abs", 2.0), ("abs", 0.7), ("abs", 1.0), ("signed", 3.0)])
@pytest.mark.parametrize("shape,cfg", LP_CASES, ids=[str(c) for c in range(len(LP_CASES))])
def test_lp_pool_value_and_vjp_match_spec(monkeypatch, shape, cfg, sign, p, scaled):
    """Both the rescaled path and the direct one (used where no power leaves the normal
    range) follow the spec's value and derivative rules, including +-inf and NaN windows."""
    if scaled:
        monkeypatch.setattr(lp_module, "_limits", lambda *a: (math.inf, 0.0))  # none in range
    cfg = {**cfg, "sign": sign}
    for special in (False, True):
        x = _lp_input(shape, 5, special).requires_grad_()
        pt = torch.tensor(p, dtype=torch.float64, requires_grad=True)
        y = impl.lp_pool(x, pt, **cfg)
        expected = spec.lp_pool(_np(x), np.asarray(p), **cfg)
        tol = 1e-12 * (1 + np.nan_to_num(np.abs(expected), posinf=0.0))
        assert_matches(y, expected, exact=False, tol=tol, what=f"value {cfg} p={p}")
        y_bar = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=y.dtype)
        gx, gp = torch.autograd.grad(y, (x, pt), y_bar)
        ex, ep = spec.vjp("lp_pool", (_np(x), np.asarray(p)), _np(y_bar), **cfg)
        tol = 1e-10 * (1 + np.nan_to_num(np.abs(ex), posinf=0.0))
        assert_matches(gx, ex, exact=False, tol=tol, what=f"x cotangent {cfg} p={p} {special}")
        ptol = 1e-9 * (1 + np.nan_to_num(np.abs(ep), posinf=0.0))
        assert_matches(gp, ep, exact=False, tol=ptol, what=f"p cotangent {cfg} p={p} {special}")


def test_lp_pool_infinite_and_nan_windows_follow_spec_rules():
    """Rule 3: a window holding +-inf has value +-inf and zero derivatives; rule 4: a NaN
    window has NaN derivatives at its non-zero real cells (p = 1 included)."""
    x = np.array([[[1.0, INF, 2.0, 0.0, -3.0, NAN, 0.0, 4.0]]])
    for p, sign in ((2.0, "abs"), (1.0, "abs"), (1.0, "signed"), (2.0, "signed")):
        cfg = {"kernel_size": 2, "stride": 1, "sign": sign}
        xt = torch.tensor(x, requires_grad=True)
        y = impl.lp_pool(xt, p, **cfg)
        assert_matches(y, spec.lp_pool(x, p, **cfg), exact=False, tol=1e-12)
        (g,) = torch.autograd.grad(y, xt, torch.ones_like(y))
        (e,) = spec.vjp("lp_pool", (x, np.asarray(p)), np.ones(y.shape), **cfg)[:1]
        assert_matches(g, e, exact=False, tol=1e-12, what=f"p={p} {sign}")


# -- avg_pool3d: "input image smaller than kernel size" although the padding fits ---------
def test_native_avg_pool3d_input_shorter_than_kernel_routes_to_separable():
    x = np.array([2.0]).reshape((1, 1, 1, 1, 1))
    cfg = {"kernel_size": (1, 2, 1), "padding": (0, 1, 0)}
    for p in (INF, 2.0, 1.0):
        got = impl.lp_pool(torch.tensor(x, dtype=torch.float16), p, **cfg)
        assert_matches(got, spec.lp_pool(x.astype(np.float16), p, **cfg), exact=False, tol=1e-3)
    avg_cfg = {**cfg, "count_include_pad": False}
    xt = torch.tensor(x, requires_grad=True)
    y = impl.avg_pool(xt, **avg_cfg)
    assert_matches(y, spec.avg_pool(x, **avg_cfg), exact=False, tol=1e-15)
    xt2 = torch.tensor(x, requires_grad=True)
    y2 = impl.lp_pool(xt2, 2.0, **cfg)
    for leaf, out, op, args in ((xt, y, "avg_pool", avg_cfg), (xt2, y2, "lp_pool", cfg)):
        (g,) = torch.autograd.grad(out, leaf, torch.ones_like(out))
        primals = (x,) if op == "avg_pool" else (x, np.asarray(2.0))
        expected = spec.vjp(op, primals, np.ones(out.shape), **args)[0]
        assert_matches(g, expected, exact=False, tol=1e-15, what=op)


# -- adaptive_avg_pool: a repeated -inf tap masked by a product gave -inf * 0 = NaN ----------
@pytest.mark.parametrize("output_size", [(4,), (4, None, None, None)])
def test_adaptive_avg_pool_all_minus_inf_bin_with_overlapping_bins(output_size):
    d = len(output_size)
    x = np.array([-INF, -INF, 0.0]).reshape((1, 1, 3) + (1,) * (d - 1))
    for dtype in (torch.float16, torch.float64):
        xs = x.astype(np.float16) if dtype is torch.float16 else x
        expected = spec.adaptive_avg_pool(xs, output_size=output_size)
        got = impl.adaptive_avg_pool(torch.tensor(x, dtype=dtype), output_size=output_size)
        assert_matches(got, expected, exact=False, tol=1e-3)


# -- max_pool: PyTorch's channels-last 3-D kernel kept index 0 (outside the window) for a
#    window of real -inf cells; the spec selects its first real cell ------------------------
@pytest.mark.parametrize("channels", [1, 33])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_max_pool_minus_inf_window_selects_first_real_cell_channels_last(channels, requires_grad):
    x = np.full((1, channels, 4, 1, 1), -INF)
    cfg = {"kernel_size": (3, 2, 3), "stride": (1, 3, 1), "padding": (0, 1, 1), "ceil_mode": True}
    y, index = spec.max_pool(x, **cfg, return_indices=True)
    xt = torch.tensor(x).to(memory_format=torch.channels_last_3d).requires_grad_(requires_grad)
    got, got_index = impl.max_pool(xt, **cfg, return_indices=True)
    assert_matches(got, y, exact=True)
    assert (got_index.numpy() == index).all()
    if requires_grad:
        y_bar = np.arange(1.0, 1.0 + y.size).reshape(y.shape)
        (g,) = torch.autograd.grad(got, xt, torch.tensor(y_bar))
        (expected,) = spec.vjp("max_pool", (x,), y_bar, **cfg)
        assert_matches(g, expected, exact=True)


# -- lp_pool p = inf: a window of padding only was max pooling's -inf; the spec's is 0 -----
@pytest.mark.parametrize("requires_grad", [False, True])
def test_lp_pool_inf_p_all_padding_window_is_zero(requires_grad):
    x = np.array([2.0]).reshape((1, 1, 1, 1, 1, 1, 1))
    cfg = {"kernel_size": (1, 2, 1, 1, 1), "padding": "same", "dilation": (1, 2, 1, 1, 1)}
    expected = spec.lp_pool(x.astype(np.float16), np.inf, **cfg)
    xt = torch.tensor(x, dtype=torch.float16).requires_grad_(requires_grad)
    got = impl.lp_pool(xt, INF, **cfg)
    assert_matches(got, expected, exact=True)
    x2 = np.array([[[3.0, -5.0, 1.0]]])
    cfg2 = {"kernel_size": 2, "dilation": 3, "padding": 2, "stride": 1}
    xt2 = torch.tensor(x2, requires_grad=True)
    got2 = impl.lp_pool(xt2, INF, **cfg2)
    assert_matches(got2, spec.lp_pool(x2, np.inf, **cfg2), exact=True)
    (g,) = torch.autograd.grad(got2, xt2, torch.ones_like(got2))
    (e,) = spec.vjp("lp_pool", (x2, np.asarray(np.inf)), np.ones(got2.shape), **cfg2)[:1]
    assert_matches(g, e, exact=True)


# -- signed lp_pool with a tensor p: dy/dp is NaN at a negative cell (log of a negative
#    base), and a zero p tangent / zero cotangent gave 0 * NaN = NaN where the spec gives 0 --
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("zero", [True, False])
def test_signed_lp_pool_zero_p_tangent_and_zero_cotangent(p, zero):
    x = np.array([-1.0, -3.0, 0.0, 2.0]).reshape(1, 1, 4)
    cfg = {"kernel_size": 4, "sign": "signed"}
    xt, pt = torch.tensor(x), torch.tensor(p, dtype=torch.float64)
    p_dot = 0.0 if zero else 1.0
    _, expected = spec.jvp(
        "lp_pool", (x, np.asarray(p)), (np.ones_like(x), np.asarray(p_dot)), **cfg
    )
    _, got = torch.func.jvp(
        lambda a, q: impl.lp_pool(a, q, **cfg),
        (xt, pt),
        (torch.ones_like(xt), torch.tensor(p_dot, dtype=torch.float64)),
    )
    assert_matches(got, expected, exact=False, tol=1e-12, what=f"jvp p={p} p_dot={p_dot}")
    y_bar = np.full((1, 1, 1), 0.0 if zero else 1.0)
    _, pullback = torch.func.vjp(lambda a, q: impl.lp_pool(a, q, **cfg), xt, pt)
    got_bars = pullback(torch.tensor(y_bar))
    for g, e in zip(got_bars, spec.vjp("lp_pool", (x, np.asarray(p)), y_bar, **cfg)):
        assert_matches(g, e, exact=False, tol=1e-12, what=f"vjp p={p} y_bar={y_bar.item()}")


def test_gumbel_pool_train_keeps_the_sign_of_a_selected_negative_zero():
    """Found by the conformance suite: the straight-through term added +0 to the hard
    value, turning a selected -0.0 into +0.0 (the spec's value is the cell itself)."""
    x = torch.tensor([[[-1.0, 0.0, -0.0]]], dtype=torch.float16)
    g = torch.tensor([[[[-0.01316, 1.15703, 3.17398]]]], dtype=torch.float64)
    cfg = dict(kernel_size=(3,), mode="train")
    got = impl.gumbel_pool(x, 1.0, g, **cfg)
    want = spec.gumbel_pool(x.numpy(), 1.0, g.numpy(), **cfg)
    assert np.array_equal(np.signbit(got.numpy()), np.signbit(want)), (got, want)
    assert np.array_equal(got.numpy(), want), (got, want)


# -- smooth max, beta 1000: partial log-sum-exps rounded between axes, derivatives off by
# beta times that rounding (a thorough discovery run; float32, ties, dilated windows) ----
SMOOTH_MAX_CASES = {
    "vjp, 3-D valid": (
        [2, -3, -2, -2, -2, 2, 3, 1, -3, -3, -1, 0, 1, 0, -2, -2, 1, 2],
        (1, 1, 1, 3, 2, 3),
        {"kernel_size": (1, 2, 2, 2), "padding": "valid", "dilation": (1, 2, 1, 2)},
    ),
    "jvp, 4-D": (
        [-2, 1, -1, 2, -3, -2, -3, 2, -1, -2, -1, -1],
        (1, 1, 3, 1, 4, 1),
        {"kernel_size": (2, 1, 2, 1), "padding": 0, "dilation": (2, 1, 2, 1)},
    ),
}


@pytest.mark.parametrize("name", sorted(SMOOTH_MAX_CASES))
def test_smooth_max_derivatives_at_a_large_beta_over_several_axes(name):
    """Both derivatives, in float32, against the spec within the suite's derived bounds:
    with the partial results rounded to ``m + log(s) / beta`` between axes, the cotangent of
    tied cells came out 0.66665 for 2/3 and the tangent with the wrong sign."""
    from ndpool.conformance.cases import Case
    from ndpool.conformance.ops import OP_INFO
    from ndpool.conformance.targets import load_target
    from ndpool.conformance.tolerances import mismatches

    cells, shape, cfg = SMOOTH_MAX_CASES[name]
    cfg = {**cfg, "ceil_mode": False, "padding_policy": "ignore"}
    x = np.array(cells, dtype=np.float64).reshape(shape)
    beta = np.array(1000.0)
    case = Case(op="smooth_max_pool", x=x, params=(beta,), cfg=cfg, dtype="float32")
    target, info = load_target("ndpool.impl"), OP_INFO["smooth_max_pool"]
    y = spec.smooth_max_pool(x, beta, **cfg)
    cot = np.arange(1.0, y.size + 1).reshape(y.shape) * np.where(np.arange(y.size) % 2, 1, -1)
    refs = spec.vjp("smooth_max_pool", (x, beta), cot, **cfg)
    got = target.vjp(case, cot)
    allowed = info.vjp_allowed(case, cot, refs, {"x", "beta"})
    for g, ref, a in zip(got, refs, allowed):
        assert not mismatches(g, ref, a, "float32").any(), (name, g, ref)
    tangents = (np.resize([1.0, 1.0, 2.0, 0.0, 3.0, -2.0], x.shape), np.array(2.0))
    _, want = spec.jvp("smooth_max_pool", (x, beta), tangents, **cfg)
    _, got_dot = target.jvp(case, tangents)
    allowed = info.jvp_allowed(case, tangents, want, {"x", "beta"})
    assert not mismatches(got_dot, want, allowed, "float32").any(), (name, got_dot, want)
