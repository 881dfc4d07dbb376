"""torch.compile(fullgraph=True) of impl ops gives the spec's values and gradients.
Few cases: compiling is slow on a small machine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_impl_support import assert_matches, make_input

from ndpool import impl, spec

CASES = [
    ("max_pool", (), dict(kernel_size=3, stride=1, padding=1), (7, 6)),
    ("smooth_max_pool", (1.5,), dict(kernel_size=2, stride=1, padding=((1, 0), 0, 1)), (4, 5, 4)),
]


@pytest.mark.parametrize("op,params,cfg,shape", CASES, ids=[c[0] for c in CASES])
def test_compiled_fullgraph_matches_spec(op, params, cfg, shape):
    torch._dynamo.reset()
    x = make_input(shape, seed=91, kind="ties").requires_grad_()
    fn = torch.compile(lambda x: impl.OPS[op](x, *params, **cfg), fullgraph=True)
    y = fn(x)
    primals = [x.detach().numpy()] + [np.asarray(p) for p in params]
    expected = spec.OPS[op].function(*primals, **cfg)
    assert_matches(y, expected, exact=False, tol=1e-12, what=f"compiled {op}")
    y_bar = torch.randn(y.shape, dtype=torch.float64)
    (x_bar,) = torch.autograd.grad(y, x, y_bar)
    (ex_bar, *_) = spec.vjp(op, primals, y_bar.numpy(), **cfg)
    assert_matches(x_bar, ex_bar, exact=False, tol=1e-12, what=f"compiled {op} grad")
