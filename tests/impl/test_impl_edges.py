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

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


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


@pytest.mark.parametrize("dtype,big", [("float32", 3e38), ("bfloat16", 3e38), ("float64", 1.7e308)])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_lp_with_a_tensor_p_of_one_near_overflow(dtype, big, reduction):
    """p = 1 given as a tensor (learnable p) takes the linear path for its x-derivative;
    its value came from the plain window sum, which overflows where the mean (or the sum
    in float64's spec arithmetic) does not. Seed 11 of the 20-seed ci run found it in
    bfloat16 with ``reduction="mean"``. Scalar and per-channel p; the sums overflow every
    dtype, the means none."""
    rng = np.random.default_rng(2)
    x = (big * rng.uniform(0.1, 1.0, (1, 2, 8))).astype(np.float64)
    x = torch.tensor(x).to(DTYPES[dtype]).double().numpy()
    cfg = dict(kernel_size=8, reduction=reduction)
    for p in (
        torch.tensor(1.0, dtype=torch.float64),
        torch.tensor([1.0, 1.0], dtype=torch.float64),
    ):
        _check("lp_pool", x, (p,), cfg, dtype)


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


@pytest.mark.parametrize(
    "op,params,magnitude",
    [("quantile_pool", (0.25, 2.0), 1.0), ("gem_pool", (3.0,), 1.0),
     ("lp_pool", (3.0,), 1.0), ("lp_pool", (3.0,), 1e300)],
)  # fmt: skip
def test_explicit_partials_under_vmapped_first_order_transforms(op, params, magnitude):
    """One derivative transform under ``vmap`` layers is first order: jacrev, jacfwd and
    per-sample gradients (``vmap(grad)``) of the ops that apply explicit partials match
    the spec's VJP rows. jacfwd used to fail inside torch (an internal assert: the
    partials read a tensor captured from the transform's level) and ``vmap(grad)`` to
    refuse as if it were a second derivative (not for quantile pooling, which vmap cannot
    batch). The last case is Lp's scaled form."""
    from torch.func import grad, jacfwd, jacrev, vmap

    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 1.5, size=(2, 1, 5)) * magnitude
    cfg = dict(kernel_size=3, stride=2)
    case = Case(op, x, tuple(np.asarray(p, dtype=np.float64) for p in params), cfg, "float64")
    xt = torch.from_numpy(x)

    def f(x):
        return impl.OPS[op](x, *params, **cfg)

    def rows_match(jac, cot):
        refs = spec.vjp(op, case.primals, cot, **cfg)
        allowed = OP_INFO[op].vjp_allowed(case, cot, refs, {"x"})[0]
        assert not mismatches(jac, refs[0], allowed, "float64").any(), (jac, refs[0])

    for transform in (jacrev, jacfwd):
        jac = transform(f)(xt).numpy()  # [2, 1, 2, 2, 1, 5]
        for o in np.ndindex(2, 1, 2):
            cot = np.zeros((2, 1, 2))
            cot[o] = 1.0
            rows_match(jac[o], cot)
    if op != "quantile_pool":  # its root's iteration count is data-dependent: no vmap
        per_sample = vmap(grad(lambda s: f(s[None]).sum()))(xt).numpy()
        rows_match(per_sample, np.ones((2, 1, 2)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ["avg_pool", "adaptive_avg_pool"])
def test_average_of_subnormals_under_a_transform(op, dtype):
    """Under torch.func the mean is the eager one where it is finite: dividing subnormal
    cells by a power of two first (the overflow-free form) would round them."""
    tiny = float(np.finfo(dtype).smallest_subnormal)
    rng = np.random.default_rng(1)
    x = rng.integers(-9, 10, (1, 2, 3, 5)).astype(np.float64) * tiny
    cfg = dict(kernel_size=(2, 3), stride=1) if op == "avg_pool" else dict(output_size=(2, 4))
    eager, _ref = _check(op, x, (), cfg, dtype)
    xt = torch.tensor(x, dtype=DTYPES[dtype])
    y, _ = torch.func.jvp(lambda a: impl.OPS[op](a, **cfg), (xt,), (torch.ones_like(xt),))
    assert np.array_equal(y.double().numpy(), eager), (y, eager)


#: the derivatives of Lp at the ends of float64's range, against the spec's. Each partial
#: is formed in scaled units: dy/dx_i = (r_i / rho)^(p - 1) (at most 1) and dy/dp = y
#: (sum w_i log r_i - log rho) / p, a few roundings each; so an element of a tangent or
#: cotangent is within ``2^-40`` of the magnitude of its terms, ``sum |x_dot|`` over the
#: window plus ``|y| |p_dot|`` (a dy/dp that cancels to 0 leaves a residual of order
#: ``u |y|`` on either side), plus a unit of the smallest subnormal per summed term where
#: the terms are themselves subnormal. That leaves no room for the failures this pins: a
#: tangent overflowing to inf, a cotangent rounded to a few subnormal units, a p-tangent
#: off by the window's scale.
LP_DERIVATIVE_RTOL = 2.0**-40
SUBNORMAL = float(np.finfo(np.float64).smallest_subnormal)


@pytest.mark.parametrize("scale", [2.0**-1070, 1e-310, 1e300])
@pytest.mark.parametrize("p", [2.0, 3.0])
def test_lp_derivatives_at_the_ends_of_the_range(scale, p):
    rng = np.random.default_rng(2)
    x = np.round(rng.uniform(-15, 15, (2, 2, 6))) * scale
    cfg = dict(kernel_size=(2,), stride=1)
    x_dot = rng.uniform(-2, 2, x.shape)
    p_dot = 0.5
    y, ref_dot = spec.jvp("lp_pool", (x, np.array(p)), (x_dot, np.array(p_dot)), **cfg)
    xt, pt = torch.tensor(x), torch.tensor(p, dtype=torch.float64)

    def f(a, q):
        return impl.lp_pool(a, q, **cfg)

    _, got_dot = torch.func.jvp(f, (xt, pt), (torch.tensor(x_dot), torch.tensor(p_dot)))
    window_dot = spec.avg_pool(np.abs(x_dot), **cfg) * 2  # sum of |x_dot| per window
    allowed = LP_DERIVATIVE_RTOL * (window_dot + np.abs(y) * p_dot) + SUBNORMAL
    assert (np.abs(got_dot.numpy() - ref_dot) <= allowed).all(), (got_dot, ref_dot)
    cot = rng.uniform(-2, 2, ref_dot.shape)
    ref_bars = spec.vjp("lp_pool", (x, np.array(p)), cot, **cfg)
    xr, pr = xt.clone().requires_grad_(), pt.clone().requires_grad_()
    f(xr, pr).backward(torch.tensor(cot))
    cells = 2 * np.abs(spec.vjp("avg_pool", (x,), np.abs(cot), **cfg)[0])  # sum |cot| per cell
    allowed = LP_DERIVATIVE_RTOL * cells + SUBNORMAL
    assert (np.abs(xr.grad.numpy() - ref_bars[0]) <= allowed).all(), (xr.grad, ref_bars[0])
    allowed = LP_DERIVATIVE_RTOL * np.sum(np.abs(cot * y)) + cot.size * SUBNORMAL
    assert abs(float(pr.grad) - float(ref_bars[1])) <= allowed, (pr.grad, ref_bars[1])


def test_a_window_index_first_built_inside_a_transform_serves_later_calls():
    """The cached window index of a plan first met under ``torch.func.hessian`` must be a
    plain tensor: factory functions there return tensors wrapped at the transform's level,
    and a cached one broke every later call with the plan (an internal assert in torch)."""
    from torch.func import hessian, jacrev

    cfg = dict(kernel_size=5, stride=4, padding=2)  # a plan no other test uses
    x = torch.rand(1, 1, 13, dtype=torch.float64) + 0.5
    hessian(lambda t: impl.lp_pool(t, 3.0, **cfg).sum())(x)
    got = impl.lp_pool(x, 3.0, **cfg)
    want = spec.lp_pool(x.numpy(), 3.0, **cfg)
    case = Case("lp_pool", x.numpy(), (np.asarray(3.0),), cfg, "float64")
    assert not mismatches(
        got.numpy(), want, OP_INFO["lp_pool"].forward_allowed(case, want), "float64"
    ).any()
    jacrev(lambda t: impl.lp_pool(t, 3.0, **cfg))(x)  # and inside another transform
