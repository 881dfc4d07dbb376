"""The CUDA code paths against the spec (skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_impl_support import (
    OP_CASES,
    SLIDING,
    assert_matches,
    impl_call,
    make_input,
    spec_call,
    tolerance,
)

from ndpool import spec

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CUDA_SLIDING = [SLIDING[3], SLIDING[5], SLIDING[6], SLIDING[8], SLIDING[12]]


@pytest.mark.parametrize("shape,cfg", CUDA_SLIDING)
@pytest.mark.parametrize("op,params,options", OP_CASES, ids=[f"{o}{p}{q}" for o, p, q in OP_CASES])
def test_cuda_matches_spec(op, params, options, shape, cfg):
    cfg = {**cfg, **options}
    kind = "special" if op in ("max_pool", "smooth_max_pool") else "ties"
    x = make_input(shape, seed=101, kind=kind)
    expected = spec_call(op, x, params, cfg)
    xc = x.cuda().requires_grad_()
    got = impl_call(op, xc, params, cfg)
    assert got.device.type == "cuda"
    exact = spec.OPS[op].exact
    tol = None if exact else tolerance(op, x, cfg, expected, torch.float64, params)
    assert_matches(got.cpu(), expected, exact=exact, tol=tol, what=f"cuda {op} {cfg}")
    y_bar = torch.randn(got.shape, dtype=torch.float64)
    (x_bar,) = torch.autograd.grad(got, xc, y_bar.cuda())
    primals = [x.numpy()] + [np.asarray(p) for p in params]
    (ex_bar, *_) = spec.vjp(op, primals, y_bar.numpy(), **cfg)
    assert_matches(x_bar.cpu(), ex_bar, exact=False, tol=1e-10, what=f"cuda {op} grad")


def test_cuda_max_pool_indices_match_spec():
    x = make_input((7, 6), seed=102, kind="special")
    cfg = dict(kernel_size=3, stride=1, padding=1)
    y, index = spec_call("max_pool", x, (), cfg, return_indices=True)
    got_y, got_index = impl_call("max_pool", x.cuda(), (), cfg, return_indices=True)
    assert_matches(got_y.cpu(), y, exact=True, what="cuda max value")
    assert (got_index.cpu().numpy() == index).all()
