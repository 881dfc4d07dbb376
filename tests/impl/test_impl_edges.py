"""ndpool.impl at the edges of each dtype's range, against the spec: magnitudes near
overflow and underflow, mixed scales in one window, large and small p, beta * x past
exp's range. (The conformance suite draws such cases too; these pin the classes.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ndpool import impl, spec
from ndpool.conformance.cases import Case
from ndpool.conformance.ops import OP_INFO
from ndpool.conformance.tolerances import mismatches

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16}


def _check(op, x, params, cfg, dtype):
    """The impl's value is within the op's error bound of the spec's (forward)."""
    case = Case(op, x, tuple(np.asarray(p, dtype=np.float64) for p in params), cfg, dtype)
    ref = case.spec_forward()
    xt = torch.tensor(x, dtype=DTYPES[dtype])
    got = impl.OPS[op](xt, *params, **cfg)
    assert got.dtype == xt.dtype
    got = got.double().numpy()
    allowed = OP_INFO[op].forward_allowed(case, ref)
    bad = mismatches(got, ref, allowed, dtype)
    assert not bad.any(), f"{op} {dtype} {cfg} {params}: impl {got[bad]}, spec {ref[bad]}"
    return got, ref


@pytest.mark.parametrize(
    "scale,dtype",
    [(1e-30, "float32"), (1e-170, "float64"), (1e30, "float32"), (1e300, "float64"),
     (1e-4, "float16"), (2e4, "float16")],
)  # fmt: skip
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 1.0000001, 1e3, 0.5])
def test_lp_over_the_whole_range(scale, dtype, p):
    rng = np.random.default_rng(0)
    x = (scale * rng.uniform(0.5, 2.0, (2, 3, 9))).astype(dtype).astype(np.float64)
    _got, ref = _check("lp_pool", x, (p,), dict(kernel_size=3, stride=2), dtype)
    assert np.isfinite(ref).all() and (ref > 0).all()


def test_lp_examples_that_were_wrong():
    x = np.full((1, 1, 4), 1e-30)
    _check(
        "lp_pool", x.astype(np.float32).astype(np.float64), (2.0,), dict(kernel_size=4), "float32"
    )
    got, _ref = _check("lp_pool", np.full((1, 1, 4), 1e308), (3.0,), dict(kernel_size=4), "float64")
    assert np.isfinite(got).all() and abs(got[0, 0, 0] / (1e308 * 4 ** (1 / 3)) - 1) < 1e-12


def test_lp_mixed_scales_in_windows_and_planes():
    x = np.array([[[1e-30, 2e-30, 3e-30, 1e30, 2e30, 5.0, 1e-38, 0.0, -1e-30]]])
    x32 = x.astype(np.float32).astype(np.float64)
    for p in (2.0, 3.0, 0.75, 64.0):
        _check("lp_pool", x32, (p,), dict(kernel_size=2, stride=1), "float32")
        _check("lp_pool", x32, (p,), dict(kernel_size=3, stride=1, padding=1), "float32")


@pytest.mark.parametrize("dtype,big", [("float32", 1e38), ("float64", 1e308), ("float16", 6e4)])
def test_avg_does_not_overflow_where_the_mean_does_not(dtype, big):
    x = np.full((1, 2, 6), big).astype(dtype).astype(np.float64)
    got, _ = _check("avg_pool", x, (), dict(kernel_size=3, stride=1, padding=1), dtype)
    assert np.isfinite(got).all()
    _check("adaptive_avg_pool", x, (), dict(output_size=2), dtype)


@pytest.mark.parametrize("dtype,big", [("float32", 3e38), ("float64", 1e308)])
def test_smooth_max_with_beta_x_past_overflow(dtype, big):
    x = np.array([[[big, big / 2, -big, 0.0]]]).astype(dtype).astype(np.float64)
    got, _ = _check("smooth_max_pool", x, (4.0,), dict(kernel_size=2, stride=1), dtype)
    assert np.isfinite(got).all()


def test_quantile_second_derivative_is_a_clear_error():
    x = torch.randn(1, 1, 6, dtype=torch.float64, requires_grad=True)
    y = impl.quantile_pool(x, 0.5, 2.0, kernel_size=2)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="no second derivative"):
        torch.autograd.grad(g.sum() + x.sum(), x)  # never the x.sum() part alone
    with pytest.raises(RuntimeError, match="no second derivative"):
        torch.func.jacrev(
            torch.func.grad(lambda t: impl.quantile_pool(t, 0.5, 2.0, kernel_size=2).sum())
        )(x.detach())
    (g,) = torch.autograd.grad(impl.quantile_pool(x, 0.5, 2.0, kernel_size=2).sum(), x)
    want = spec.vjp("quantile_pool", (x.detach().numpy(), 0.5, 2.0), np.ones((1, 1, 3)),
                    kernel_size=2)[0]  # fmt: skip
    assert np.allclose(g.numpy(), want, rtol=1e-12, atol=1e-14)
