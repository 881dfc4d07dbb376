"""impl vs spec for the issue-6 poolers: forward values, JVP (torch.func.jvp) and VJP
(autograd) against ``spec.jvp`` / ``spec.vjp``, parameters' derivatives included, with the
random draws passed explicitly to both (draw by draw). Tolerances: see
``test_impl_poolers_support``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_impl_poolers_support import (
    CASES,
    DTYPES,
    SLIDING,
    assert_close,
    case_id,
    derivative_tolerance,
    forward_tolerance,
    geom_id,
    geometries,
    impl_fn,
    is_exact,
    make_case,
    rounded,
    spec_fn,
    spec_inputs,
    to_numpy,
    torch_inputs,
)

from ndpool import impl, spec
from ndpool.spec.gumbel import selection_margin as gumbel_margin

GEOMETRY_CASES = [
    (op, mode, shape, cfg) for op, mode in CASES for shape, cfg in geometries(op)
]  # fmt: skip
GEOMETRY_IDS = [f"{case_id(o, m)}-{geom_id(s, c)}" for o, m, s, c in GEOMETRY_CASES]


def _dq(op, x, params, draws, cfg):
    """The spec's dm/dq (quantile's error scale), None for other ops."""
    if op != "quantile_pool":
        return None
    tangents = (np.zeros_like(x), np.ones_like(params[0]), np.zeros_like(params[1]))
    return spec.jvp(op, (x, *params), tangents, **cfg)[1]


def _differentiable(op):
    return [s.differentiable for s in spec.OPS[op].input_specs]


@pytest.mark.parametrize("op,mode,shape,cfg", GEOMETRY_CASES, ids=GEOMETRY_IDS)
def test_forward_matches_spec(op, mode, shape, cfg):
    x, params, draws, cfg = make_case(op, mode, shape, cfg, seed=1)
    expected = spec_fn(op)(x, *spec_inputs(params, draws), **cfg)
    xt, pt, dt = torch_inputs(x, params, draws)
    got = impl_fn(op)(xt, *pt, *dt, **cfg)
    tol = forward_tolerance(
        op, x, params, cfg, expected, torch.float64, _dq(op, x, params, draws, cfg)
    )
    assert_close(got, expected, tol, f"{op} {cfg}", exact=is_exact(op, mode))


@pytest.mark.parametrize("op,mode", CASES, ids=[case_id(*c) for c in CASES])
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_forward_unbatched_per_layer_matches_spec(op, mode, rank):
    """Unbatched ``[C, *S]`` input and per-layer parameters (scalars / ``[K]`` masks)."""
    shape, cfg = next((s, c) for s, c in geometries(op)[::-1] if len(s) == rank)
    x, params, draws, cfg = make_case(op, mode, shape, cfg, seed=2, batched=False,
                                      per_channel=False)  # fmt: skip
    expected = spec_fn(op)(x, *spec_inputs(params, draws), **cfg)
    xt, pt, dt = torch_inputs(x, params, draws)
    got = impl_fn(op)(xt, *pt, *dt, **cfg)
    tol = forward_tolerance(
        op, x, params, cfg, expected, torch.float64, _dq(op, x, params, draws, cfg)
    )
    assert_close(got, expected, tol, f"{op} unbatched {cfg}", exact=is_exact(op, mode))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("op,mode", CASES, ids=[case_id(*c) for c in CASES])
def test_forward_dtypes_match_spec(op, mode, dtype):
    """Every dtype: the spec gets the inputs rounded to the dtype (bfloat16 through its
    float32 values) and rounds its float64 result once; the impl computes in float32 for
    the 16-bit types (float64 for quantile's solve)."""
    shape, cfg = geometries(op)[1]
    x, params, draws, cfg = make_case(op, mode, shape, cfg, seed=3)
    xr, pr = rounded(x, dtype), [rounded(p, dtype) for p in params]
    xt, pt, dt = torch_inputs(xr, pr, draws, dtype=dtype)
    got = impl_fn(op)(xt, *pt, *dt, **cfg)
    assert got.dtype == dtype
    expected = spec_fn(op)(xr, *spec_inputs(pr, draws), **cfg)
    tol = forward_tolerance(op, xr, pr, cfg, expected, dtype, _dq(op, xr, pr, draws, cfg))
    mask = None
    if op == "gumbel_pool" and mode == "train":
        # the impl forms x / T + g in float32: compare the selection where the spec's best
        # two scores are further apart than 64 float32 roundings of a score
        scores = np.abs(xr).max() / np.min(pr[0]) + np.abs(draws[0]).max()
        mask = gumbel_margin(xr, pr[0], draws[0], **cfg) > 64 * 2.0**-24 * scores
        tol = 0.0
    assert_close(got, expected, tol, f"{op} {dtype} {cfg}", exact=is_exact(op, mode), mask=mask)


@pytest.mark.parametrize("op,mode,shape,cfg", GEOMETRY_CASES, ids=GEOMETRY_IDS)
def test_jvp_matches_spec(op, mode, shape, cfg):
    """Forward mode through torch.func.jvp, tangents for x and every differentiable
    parameter at once, against spec.jvp (Gumbel train: the straight-through tangent)."""
    x, params, draws, cfg = make_case(op, mode, shape, cfg, seed=4)
    rng = np.random.default_rng(5)
    x_dot = rng.normal(size=x.shape)
    p_dots = [rng.normal(size=np.shape(p)) for p in params]
    xt, pt, dt = torch_inputs(x, params, draws)

    def f(x_, *ps):
        return impl_fn(op)(x_, *ps, *dt, **cfg)

    tangents = (torch.from_numpy(x_dot), *(torch.from_numpy(np.asarray(t)) for t in p_dots))
    y, y_dot = torch.func.jvp(f, (xt, *pt), tangents)
    spec_t = (x_dot, *p_dots, *[None] * len(draws))
    ey, ey_dot = spec.jvp(op, (x, *spec_inputs(params, draws)), spec_t, **cfg)
    dq = _dq(op, x, params, draws, cfg)
    assert_close(y, ey, forward_tolerance(op, x, params, cfg, ey, torch.float64, dq),
                 f"{op} jvp value {cfg}", exact=is_exact(op, mode))  # fmt: skip
    tol = derivative_tolerance(op, x, params, cfg, ey_dot, dq)
    assert_close(y_dot, ey_dot, tol, f"{op} jvp tangent {cfg}", exact=is_exact(op, mode))


@pytest.mark.parametrize("op,mode,shape,cfg", GEOMETRY_CASES, ids=GEOMETRY_IDS)
def test_vjp_matches_spec(op, mode, shape, cfg):
    """Reverse mode through autograd: the cotangent of x and of every differentiable
    parameter (summed over the batch / broadcast as the spec does) against spec.vjp."""
    x, params, draws, cfg = make_case(op, mode, shape, cfg, seed=6)
    xt, pt, dt = torch_inputs(x, params, draws, grad=True)
    y = impl_fn(op)(xt, *pt, *dt, **cfg)
    y_bar = np.random.default_rng(7).normal(size=tuple(y.shape))
    grads = torch.autograd.grad(y, [xt, *pt], torch.from_numpy(y_bar), allow_unused=True)
    expected = spec.vjp(op, (x, *spec_inputs(params, draws)), y_bar, **cfg)
    dq = _dq(op, x, params, draws, cfg)
    diff = _differentiable(op)
    for i, (got, want) in enumerate(zip(grads, expected)):
        assert diff[i], f"{op}: input {i} is not differentiable in the spec"
        got = torch.zeros(np.shape(want), dtype=torch.float64) if got is None else got
        tol = derivative_tolerance(op, x, params, cfg, want, dq)
        assert_close(got, want, tol, f"{op} vjp of input {i} {cfg}")
    assert all(e is None for e, d in zip(expected, diff) if not d)


@pytest.mark.parametrize("shape,cfg", SLIDING, ids=[geom_id(s, c) for s, c in SLIDING])
def test_median_indices_match_spec(shape, cfg):
    """``return_indices``: PyTorch-style flat indices of the selected (first-occurrence) cell."""
    x, _, _, cfg = make_case("median_pool", None, shape, cfg, seed=8)
    ey, ei = spec.median_pool(x, return_indices=True, **cfg)
    y, i = impl.median_pool(torch.from_numpy(x), return_indices=True, **cfg)
    assert_close(y, ey, 0.0, "median value", exact=True)
    np.testing.assert_array_equal(to_numpy(i), ei)


def test_quantile_func_vjp_and_grad_match_spec():
    """torch.func.vjp / grad go through the implicit-function-theorem backward too."""
    x, params, _, cfg = make_case("quantile_pool", None, (7, 6), SLIDING[3][1], seed=9)
    xt, pt, _ = torch_inputs(x, params, [])
    y_bar = np.random.default_rng(10).normal(size=spec.quantile_pool(x, *params, **cfg).shape)

    def f(x_, q, a):
        return impl.quantile_pool(x_, q, a, **cfg)

    _, pullback = torch.func.vjp(f, xt, *pt)
    got = pullback(torch.from_numpy(y_bar))
    expected = spec.vjp("quantile_pool", (x, *params), y_bar, **cfg)
    dq = _dq("quantile_pool", x, params, [], cfg)
    for g, e in zip(got, expected):
        assert_close(g, e, derivative_tolerance("quantile_pool", x, params, cfg, e, dq), "vjp")

    def loss(a):
        return (f(xt, pt[0], a) * torch.from_numpy(y_bar)).sum()

    assert_close(torch.func.grad(loss)(pt[1]), expected[2],
                 derivative_tolerance("quantile_pool", x, params, cfg, expected[2], dq),
                 "grad alpha")  # fmt: skip


@pytest.mark.parametrize(
    "x,q,alpha",
    [
        ([0.0, 1e6], 0.5, 1.0),  # every sigma term underflows at the root 5e5
        ([3.0, 3.0, 3.0], 0.9, 50.0),  # constant window: c + logit(q)/alpha
        ([-1e3, 0.0, 1e3, 2.0], 0.3, 200.0),  # large alpha: near the hard quantile
    ],
)
def test_quantile_saturated_windows_match_spec(x, q, alpha):
    """Windows where sigma saturates: the cancellation-free F/S and the log-space weights."""
    xn = np.asarray([[x]])
    cfg = dict(kernel_size=len(x))
    expected = spec.quantile_pool(xn, q, alpha, **cfg)
    y = impl.quantile_pool(torch.from_numpy(xn), q, alpha, **cfg)
    dq = _dq("quantile_pool", xn, [np.asarray(q), np.asarray(alpha)], [], cfg)
    tol = forward_tolerance("quantile_pool", xn, [q, alpha], cfg, expected, torch.float64, dq)
    assert_close(y, expected, tol, "saturated quantile")
    xt = torch.from_numpy(xn).requires_grad_()
    (g,) = torch.autograd.grad(impl.quantile_pool(xt, q, alpha, **cfg).sum(), xt)
    (e,) = spec.vjp("quantile_pool", (xn, q, alpha), np.ones_like(expected), **cfg)[:1]
    assert np.isfinite(to_numpy(g)).all()
    assert_close(g, e, derivative_tolerance("quantile_pool", xn, [q, alpha], cfg, e, dq), "dx")


NONFINITE_CASES = [c for c in CASES if c[0] != "stochastic_pool"]  # stochastic: C18 error


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("op,mode", NONFINITE_CASES, ids=[case_id(*c) for c in NONFINITE_CASES])
def test_nonfinite_cells_match_spec(op, mode):
    """NaN, +inf and -inf cells: the same NaN / infinity pattern in the value and in every
    cotangent (the spec's conventions: NaN propagates, NaN windows have NaN derivatives),
    and the finite entries within the tolerances."""
    shape, cfg = geometries(op)[1]
    x, params, draws, cfg = make_case(op, mode, shape, cfg, seed=11)
    flat = x.reshape(-1)
    flat[::17], flat[5::23], flat[7::29] = np.nan, np.inf, -np.inf
    xt, pt, dt = torch_inputs(x, params, draws, grad=True)
    y = impl_fn(op)(xt, *pt, *dt, **cfg)
    expected = spec_fn(op)(x, *spec_inputs(params, draws), **cfg)
    dq = _dq(op, x, params, draws, cfg)
    tol = forward_tolerance(op, x, params, cfg, expected, torch.float64, dq)
    _assert_same_infinities(y, expected, f"{op} value")
    assert_close(y, expected, tol, f"{op} value", exact=is_exact(op, mode))
    y_bar = np.random.default_rng(12).normal(size=tuple(y.shape))
    grads = torch.autograd.grad(y, [xt, *pt], torch.from_numpy(y_bar))
    for i, (got, want) in enumerate(zip(grads, spec.vjp(op, (x, *params, *draws), y_bar, **cfg))):
        _assert_same_infinities(got, want, f"{op} vjp {i}")
        tol = derivative_tolerance(op, x, params, cfg, want, dq)
        assert_close(got, want, tol, f"{op} vjp {i}")


def _assert_same_infinities(actual, expected, what):
    a, e = to_numpy(actual).astype(np.float64), np.asarray(expected, dtype=np.float64)
    for v in (np.inf, -np.inf):
        assert ((a == v) == (e == v)).all(), f"{what}: {v} at different places"


@pytest.mark.parametrize("layout", ["channels_last", "strided", "empty-batch"])
@pytest.mark.parametrize("op,mode", CASES, ids=[case_id(*c) for c in CASES])
def test_layouts_match_spec(op, mode, layout):
    """channels_last and non-contiguous (strided view) inputs read the same cells; an empty
    batch (N = 0) gives the spec's output shape."""
    shape, cfg = geometries(op)[2] if op == "s3_pool" else SLIDING[3]
    x, params, draws, cfg = make_case(op, mode, shape, cfg, seed=13)
    if layout == "empty-batch":
        x = x[:0]
        draws = [d if d is None or op == "s3_pool" else np.asarray(d)[:0] for d in draws]
    expected = spec_fn(op)(x, *spec_inputs(params, draws), **cfg)
    xt, pt, dt = torch_inputs(x, params, draws)
    if layout == "channels_last":
        xt = xt.contiguous(memory_format=torch.channels_last)
    elif layout == "strided":
        wide = torch.zeros(xt.shape[:-1] + (2 * xt.shape[-1],), dtype=xt.dtype)
        wide[..., ::2] = xt
        xt = wide[..., ::2]
    got = impl_fn(op)(xt, *pt, *dt, **cfg)
    tol = forward_tolerance(
        op, x, params, cfg, expected, torch.float64, _dq(op, x, params, draws, cfg)
    )
    assert_close(got, expected, tol, f"{op} {layout}", exact=is_exact(op, mode))
