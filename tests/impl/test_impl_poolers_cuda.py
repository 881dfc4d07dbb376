"""The issue-6 poolers on CUDA against the spec (skipped without a CUDA device): forward
and VJP in float64 and float32 with the draws made on the host and moved to the device.
Stochastic pooling's pick may differ from the spec only for a draw within rounding of a
CDF boundary (a parallel cumsum adds in another order), so such windows are left out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_impl_poolers_support import (
    CASES,
    assert_close,
    case_id,
    derivative_tolerance,
    forward_tolerance,
    geometries,
    impl_fn,
    is_exact,
    make_case,
    rounded,
    spec_fn,
    spec_inputs,
)

from ndpool import spec
from ndpool.spec.gumbel import selection_margin as gumbel_margin
from ndpool.spec.stochastic import selection_margin as stochastic_margin

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _mask(op, mode, x, params, draws, cfg):
    if mode != "train":
        return None
    if op == "stochastic_pool":
        return (
            stochastic_margin(x, draws[0], **{k: v for k, v in cfg.items() if k != "mode"}) > 1e-9
        )
    if op == "gumbel_pool":
        return gumbel_margin(x, params[0], draws[0], **cfg) > 1e-4
    return None


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("op,mode", CASES, ids=[case_id(*c) for c in CASES])
def test_cuda_forward_and_vjp_match_spec(op, mode, dtype):
    shape, cfg = geometries(op)[1]
    x, params, draws, cfg = make_case(op, mode, shape, cfg, seed=31)
    xr, pr = rounded(x, dtype), [rounded(p, dtype) for p in params]
    xt = torch.tensor(xr, dtype=dtype, device="cuda", requires_grad=True)
    pt = [torch.tensor(p, dtype=dtype, device="cuda", requires_grad=True) for p in pr]
    dt = [None if d is None else torch.from_numpy(np.asarray(d)).cuda() for d in draws]
    y = impl_fn(op)(xt, *pt, *dt, **cfg)
    assert y.device.type == "cuda" and y.dtype == dtype
    expected = spec_fn(op)(xr, *spec_inputs(pr, draws), **cfg)
    dq = None
    if op == "quantile_pool":
        t = (np.zeros_like(xr), np.ones_like(pr[0]), np.zeros_like(pr[1]))
        dq = spec.jvp(op, (xr, *pr), t, **cfg)[1]
    mask = _mask(op, mode, xr, pr, draws, cfg)
    tol = forward_tolerance(op, xr, pr, cfg, expected, dtype, dq)
    assert_close(y.cpu(), expected, tol, f"cuda {op}", exact=is_exact(op, mode), mask=mask)
    if dtype != torch.float64 or mask is not None:
        return
    y_bar = np.random.default_rng(32).normal(size=tuple(y.shape))
    grads = torch.autograd.grad(y, [xt, *pt], torch.from_numpy(y_bar).cuda())
    want = spec.vjp(op, (xr, *spec_inputs(pr, draws)), y_bar, **cfg)
    for got, e in zip(grads, want):
        tol = derivative_tolerance(op, xr, pr, cfg, e, dq)
        assert_close(got.cpu(), e, tol, f"cuda {op} vjp")
