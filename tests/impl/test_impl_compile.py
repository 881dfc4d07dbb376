"""torch.compile(fullgraph=True) of impl ops gives the spec's values and gradients.
Few cases: compiling is slow on a small machine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_impl_support import assert_matches, make_input

from ndpool import impl, spec

# backend: inductor, except for lp_pool: dynamo traces it whole, but inductor's C++
# code generation fails on the int32 exponent of torch.frexp (the power-of-two scale) in
# torch 2.13 ("no matching function for call to convert<double, 2, int32_t, 1>")
CASES = [
    ("max_pool", (), dict(kernel_size=3, stride=1, padding=1), (7, 6), "inductor"),
    ("smooth_max_pool", (1.5,), dict(kernel_size=2, stride=1, padding=((1, 0), 0, 1)), (4, 5, 4),
     "inductor"),
    ("avg_pool", (), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (7, 6), "inductor"),
    ("lp_pool", (2.0,), dict(kernel_size=2, stride=1), (5, 6), "aot_eager"),
]  # fmt: skip


@pytest.mark.parametrize("op,params,cfg,shape,backend", CASES, ids=[c[0] for c in CASES])
def test_compiled_fullgraph_matches_spec(op, params, cfg, shape, backend):
    torch._dynamo.reset()
    x = make_input(shape, seed=91, kind="ties").requires_grad_()
    fn = torch.compile(lambda x: impl.OPS[op](x, *params, **cfg), fullgraph=True, backend=backend)
    y = fn(x)
    primals = [x.detach().numpy()] + [np.asarray(p) for p in params]
    expected = spec.OPS[op].function(*primals, **cfg)
    assert_matches(y, expected, exact=False, tol=1e-12, what=f"compiled {op}")
    y_bar = torch.randn(y.shape, dtype=torch.float64)
    (x_bar,) = torch.autograd.grad(y, x, y_bar)
    (ex_bar, *_) = spec.vjp(op, primals, y_bar.numpy(), **cfg)
    assert_matches(x_bar, ex_bar, exact=False, tol=1e-12, what=f"compiled {op} grad")
