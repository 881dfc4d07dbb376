"""impl derivatives against the spec's JVP and VJP (float64): reverse mode through
autograd, forward mode through torch.func.jvp, torch.func.grad / vmap, and
gradcheck / gradgradcheck for the smooth ops. Tie and NaN inputs check that the
derivative goes to the cell the spec selects."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_impl_support import (
    ADAPTIVE,
    OP_CASES,
    SLIDING,
    assert_matches,
    case_id,
    impl_call,
    make_input,
)

from ndpool import impl, spec

# float64 derivatives: a few roundings per term of a K-term sum (K <= 27 here)
RTOL = 1e-11

KIND = {"max_pool": "special", "avg_pool": "ties", "lp_pool": "ties", "smooth_max_pool": "special"}
DERIV_SLIDING = SLIDING[::2] + [SLIDING[5], SLIDING[6]]


def _tol(expected):
    e = np.nan_to_num(np.abs(np.asarray(expected, dtype=np.float64)), posinf=0.0)
    return RTOL * (1.0 + e.max(initial=0.0) + e)


def _primals(op, params, shape, seed, options):
    # signed Lp on integer ties can sum a window to exactly 0, where the spec's derivative
    # convention (0 at y = 0) depends on its own rounding of the sum: use N(0, 1) there
    kind = "normal" if options.get("sign") == "signed" else KIND[op]
    x = make_input(shape, seed=seed, kind=kind)
    if op == "smooth_max_pool":
        # a real -inf cell: the spec's d/dbeta term p_i * x_i is 0 * (-inf) = NaN, the impl
        # takes its limit 0 (reported as a spec question); keep NaN and +inf cells
        x = torch.where(x == -float("inf"), float("inf"), x)
    ps = tuple(torch.tensor(p, dtype=torch.float64) for p in params)
    if op == "lp_pool" and params[0] == float("inf"):
        ps = (float("inf"),)  # an infinite p is not differentiable
    return x, ps


@pytest.mark.parametrize("shape,cfg", DERIV_SLIDING, ids=[case_id(s, c) for s, c in DERIV_SLIDING])
@pytest.mark.parametrize("op,params,options", OP_CASES, ids=[f"{o}{p}{q}" for o, p, q in OP_CASES])
def test_vjp_matches_spec(op, params, options, shape, cfg):
    cfg = {**cfg, **options}
    x, ps = _primals(op, params, shape, 21, options)
    leaves = [x.requires_grad_()] + [p.requires_grad_() for p in ps if isinstance(p, torch.Tensor)]
    y = impl_call(op, x, ps, cfg)
    y_bar = make_input(y.shape[2:], seed=22, kind="normal", batch=y.shape[:2])
    grads = torch.autograd.grad(y, leaves, y_bar, allow_unused=True)
    primals = [x.detach().numpy()] + [
        np.asarray(float(p.detach()) if isinstance(p, torch.Tensor) else p) for p in ps
    ]
    expected = spec.vjp(op, primals, y_bar.numpy(), **cfg)
    for name, got, exp in zip(("x", "param"), grads, expected):
        got = torch.zeros_like(torch.as_tensor(exp)) if got is None else got
        assert_matches(got, exp, exact=False, tol=_tol(exp), what=f"{op} vjp {name} {cfg}")


@pytest.mark.parametrize("shape,cfg", DERIV_SLIDING, ids=[case_id(s, c) for s, c in DERIV_SLIDING])
@pytest.mark.parametrize("op,params,options", OP_CASES, ids=[f"{o}{p}{q}" for o, p, q in OP_CASES])
def test_jvp_matches_spec(op, params, options, shape, cfg):
    cfg = {**cfg, **options}
    x, ps = _primals(op, params, shape, 31, options)
    tensors = [p for p in ps if isinstance(p, torch.Tensor)]
    x_dot = make_input(shape, seed=32, kind="normal")
    p_dots = [torch.tensor(0.7, dtype=torch.float64) for _ in tensors]

    def f(x, *tp):
        return impl_call(op, x, tp if tensors else ps, cfg)

    y, y_dot = torch.func.jvp(f, (x, *tensors), (x_dot, *p_dots))
    primals = [x.numpy()] + [np.asarray(float(p)) for p in ps]
    tangents = [x_dot.numpy()] + [np.asarray(0.7) for _ in ps]
    ey, ey_dot = spec.jvp(op, primals, tangents, **cfg)
    exact = spec.OPS[op].exact
    assert_matches(y, ey, exact=exact, tol=_tol(ey), what=f"{op} jvp value {cfg}")
    assert_matches(y_dot, ey_dot, exact=exact, tol=_tol(ey_dot), what=f"{op} jvp {cfg}")


@pytest.mark.parametrize("shape,output_size", ADAPTIVE)
@pytest.mark.parametrize("op", ["adaptive_max_pool", "adaptive_avg_pool"])
def test_adaptive_derivatives_match_spec(op, shape, output_size):
    cfg = {"output_size": output_size}
    x = make_input(shape, seed=41, kind="special" if op == "adaptive_max_pool" else "ties")
    x_dot = make_input(shape, seed=42, kind="normal")
    y, y_dot = torch.func.jvp(lambda x: impl_call(op, x, (), cfg), (x,), (x_dot,))
    ey, ey_dot = spec.jvp(op, [x.numpy()], [x_dot.numpy()], **cfg)
    assert_matches(y, ey, exact=op == "adaptive_max_pool", tol=_tol(ey), what=f"{op} value")
    assert_matches(y_dot, ey_dot, exact=False, tol=_tol(ey_dot), what=f"{op} jvp")
    y_bar = torch.randn(y.shape, dtype=torch.float64)
    (x_bar,) = torch.autograd.grad(impl_call(op, x.requires_grad_(), (), cfg), x, y_bar)
    (ex_bar,) = spec.vjp(op, [x.detach().numpy()], y_bar.numpy(), **cfg)
    assert_matches(x_bar, ex_bar, exact=False, tol=_tol(ex_bar), what=f"{op} vjp")


def test_max_pool_gradient_at_ties_goes_to_the_first_row_major_maximizer():
    x = torch.zeros(1, 1, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    impl.max_pool(x, kernel_size=3).sum().backward()
    assert x.grad.flatten().tolist() == [1.0] + [0.0] * 26


def test_func_grad_and_vmap_match_spec():
    cfg = dict(kernel_size=(3, 3), stride=2, padding=1)  # a sequence: unbatched per sample
    x = make_input((7, 6), seed=51, kind="special")
    for op, params in (("max_pool", ()), ("smooth_max_pool", (1.5,)), ("lp_pool", (2.0,))):
        if op == "lp_pool":  # the spec's Lp derivative at an infinite cell, or a zero cell
            x = torch.where(x.isfinite(), x, 2.0)  # next to NaN, is NaN; impl's 0 (see report)
        g = torch.func.grad(lambda x, op=op, params=params: impl_call(op, x, params, cfg).sum())
        got = torch.func.vmap(g)(x)  # vmap over N of grad of a per-sample (unbatched) op
        primals = [x.numpy()] + [np.asarray(p) for p in params]
        y = spec.OPS[op].function(*primals, **cfg)
        (expected, *_) = spec.vjp(op, primals, np.ones_like(y), **cfg)
        assert_matches(got, expected, exact=False, tol=_tol(expected), what=f"{op} grad/vmap")
        vm = torch.func.vmap(lambda x, op=op, params=params: impl_call(op, x, params, cfg))(x)
        assert_matches(vm, y, exact=False, tol=_tol(y), what=f"{op} vmap value")


@pytest.mark.parametrize("padding_policy", ["ignore", "zero"])
def test_smooth_max_gradcheck_and_gradgradcheck(padding_policy):
    x = torch.randn(1, 2, 5, 4, dtype=torch.float64, requires_grad=True)
    beta = torch.tensor([0.7, 2.0], dtype=torch.float64, requires_grad=True)

    def f(x, beta):
        return impl.smooth_max_pool(
            x, beta, kernel_size=3, stride=2, padding=1, ceil_mode=True,
            padding_policy=padding_policy,
        )  # fmt: skip

    assert torch.autograd.gradcheck(f, (x, beta))
    assert torch.autograd.gradgradcheck(f, (x, beta))


WINDOW_SUM_GEOMETRIES = [
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=(2, 3), stride=(3, 2), padding=((1, 0), (0, 1)), ceil_mode=True),
    dict(kernel_size=2, stride=1, dilation=(2, 3), padding=1),
    dict(kernel_size=(1, 2), stride=(2, 4)),  # unread cells between windows
    # innermost K >= 2 x stride: stride-1 sums, then every stride-th (separable._dense)
    dict(kernel_size=(2, 5), stride=2, padding=(0, 2)),
    dict(kernel_size=(1, 4), stride=(1, 2), dilation=(1, 2), padding=(0, 3), ceil_mode=True),
]


@pytest.mark.parametrize("cfg", WINDOW_SUM_GEOMETRIES, ids=repr)
def test_window_sum_adjoint_gradgradcheck_and_func(cfg):
    """The separable window sum's hand-written backward (the adjoint, a second linear
    Function) against finite differences, to second order; its JVP and vmap-of-vjp
    against the Jacobian autograd builds from the same function."""
    x = torch.randn(2, 2, 7, 9, dtype=torch.float64, requires_grad=True)

    def f(x):
        return impl.avg_pool(x, **cfg, count_include_pad=False)

    assert torch.autograd.gradcheck(f, (x,))
    assert torch.autograd.gradgradcheck(f, (x,))
    jac = torch.autograd.functional.jacobian(f, x.detach())
    y = f(x.detach())
    jac = jac.reshape(y.numel(), x.numel())
    v = torch.randn_like(x)
    _, y_dot = torch.func.jvp(f, (x.detach(),), (v,))
    torch.testing.assert_close(y_dot.reshape(-1), jac @ v.reshape(-1))
    _, pullback = torch.func.vjp(f, x.detach())
    u = torch.randn((3, *y.shape), dtype=torch.float64)
    (x_bars,) = torch.func.vmap(pullback)(u)
    torch.testing.assert_close(x_bars.reshape(3, -1), u.reshape(3, -1) @ jac)


def test_lp_gradcheck_and_gradgradcheck():
    x = (torch.rand(1, 2, 5, 4, dtype=torch.float64) + 0.5).requires_grad_()
    p = torch.tensor([1.5, 3.0], dtype=torch.float64, requires_grad=True)

    def f(x, p):
        return impl.lp_pool(x, p, kernel_size=(2, 3), stride=1, padding=(1, 1), ceil_mode=True)

    assert torch.autograd.gradcheck(f, (x, p))
    assert torch.autograd.gradgradcheck(f, (x, p))


@pytest.mark.parametrize("sign", ["abs", "signed"])
@pytest.mark.parametrize("p", [1.0, 2.0, 0.5])
def test_lp_derivative_is_zero_at_zero_cells(sign, p):
    """The spec's convention: a zero cell has derivative 0 (but 1 for signed p = 1)."""
    if sign == "signed" and p != 1.0:
        pytest.skip("signed Lp of a negative cell with non-integer p is NaN")
    x = torch.tensor([[[0.0, 2.0, 0.0, -1.5, 3.0, 0.0]]], dtype=torch.float64)
    cfg = dict(kernel_size=3, stride=1, padding=1, sign=sign)
    xr = x.clone().requires_grad_()
    y = impl.lp_pool(xr, p, **cfg)
    (x_bar,) = torch.autograd.grad(y, xr, torch.ones_like(y))
    (ex_bar, _) = spec.vjp("lp_pool", [x.numpy(), np.asarray(p)], np.ones(y.shape), **cfg)
    assert_matches(x_bar, ex_bar, exact=False, tol=1e-12, what=f"lp {sign} p={p} zero cells")


def test_lp_per_channel_p_one_is_linear_and_keeps_its_p_derivative():
    """Per-channel p with an entry of exactly 1: the x-derivative is the plain sum's (1 at
    zero cells and zero-sum windows, signed), the p-derivative the power form's."""
    x = torch.tensor(
        [[[0.0, 2.0, -2.0, 1.5, 3.0, 0.0], [0.0, 2.0, -2.0, 1.5, 3.0, 0.0]]], dtype=torch.float64
    )
    p = torch.tensor([1.0, 2.0], dtype=torch.float64)
    cfg = dict(kernel_size=3, stride=1, padding=1, sign="signed")
    xr, pr = x.clone().requires_grad_(), p.clone().requires_grad_()
    y = impl.lp_pool(xr, pr, **cfg)
    u = torch.linspace(0.5, 1.5, y.numel(), dtype=torch.float64).reshape(y.shape)
    x_bar, p_bar = torch.autograd.grad(y, (xr, pr), u)
    ex_bar, ep_bar = spec.vjp("lp_pool", [x.numpy(), p.numpy()], u.numpy(), **cfg)
    assert_matches(x_bar, ex_bar, exact=False, tol=1e-12, what="lp per-channel p=1 x_bar")
    # dy/dp is NaN for the signed p = 1 channel's windows with a negative cell (log of a
    # negative t): both must agree on which entries are NaN and on the finite ones
    assert np.array_equal(np.isnan(p_bar.numpy()), np.isnan(ep_bar)), (p_bar, ep_bar)
    ok = ~np.isnan(ep_bar)
    assert np.allclose(p_bar.numpy()[ok], ep_bar[ok], rtol=1e-12, atol=1e-12), (p_bar, ep_bar)
