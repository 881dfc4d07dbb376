"""float16 / bfloat16 against the spec within one 16-bit ulp (derivation in
test_impl_support), and memory layouts: channels_last, channels_last_3d and
non-contiguous views give the spec's values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_impl_support import OP_CASES, assert_matches, impl_call, make_input, spec_call, tolerance

from ndpool import spec

HALF_CASES = [
    ((7, 6), dict(kernel_size=3, stride=1, padding=1)),
    ((5, 4, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((4, 3, 4, 5), dict(kernel_size=2, stride=1)),
]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape,cfg", HALF_CASES)
@pytest.mark.parametrize("op,params,options", OP_CASES, ids=[f"{o}{p}{q}" for o, p, q in OP_CASES])
def test_16_bit_dtypes_match_spec(op, params, options, shape, cfg, dtype):
    cfg = {**cfg, **options}
    x = make_input(shape, seed=61, kind="normal", dtype=dtype)
    expected = spec_call(op, x, params, cfg)  # bfloat16: the spec sees its float32 values
    if dtype == torch.bfloat16:
        expected = torch.from_numpy(np.asarray(expected)).to(torch.bfloat16).float().numpy()
    got = impl_call(op, x, params, cfg)
    assert got.dtype == dtype
    exact = spec.OPS[op].exact or params == (float("inf"),)
    tol = None if exact else tolerance(op, x, cfg, expected, dtype, params)
    assert_matches(got, expected, exact=exact, tol=tol, what=f"{op} {dtype} {cfg}")


def _layouts(x: torch.Tensor):
    yield "contiguous", x
    if x.ndim == 4:
        yield "channels_last", x.to(memory_format=torch.channels_last)
    if x.ndim == 5:
        yield "channels_last_3d", x.to(memory_format=torch.channels_last_3d)
    wide = torch.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype)
    wide[..., ::2] = x
    yield "strided view", wide[..., ::2]
    yield "transposed view", x.transpose(-1, -2).contiguous().transpose(-1, -2)


@pytest.mark.parametrize(
    "shape,cfg",
    [((7, 6), dict(kernel_size=3, stride=1, padding=1)), ((5, 4, 6), dict(kernel_size=2))],
)
@pytest.mark.parametrize("op,params,options", OP_CASES[::3], ids=[o for o, _, _ in OP_CASES[::3]])
def test_layouts_match_spec(op, params, options, shape, cfg):
    cfg = {**cfg, **options}
    base = make_input(shape, seed=71, kind="ties")
    expected = spec_call(op, base, params, cfg)
    y_bar = torch.randn(expected.shape, dtype=torch.float64)
    primals = [base.numpy()] + [np.asarray(p) for p in params]
    (ex_bar, *_) = spec.vjp(op, primals, y_bar.numpy(), **cfg)
    for name, x in _layouts(base):
        assert torch.equal(x, base)
        x = x.detach().requires_grad_()
        got = impl_call(op, x, params, cfg)
        tol = tolerance(op, base, cfg, expected, torch.float64, params)
        assert_matches(got, expected, exact=False, tol=tol, what=f"{op} {name}")
        (x_bar,) = torch.autograd.grad(got, x, y_bar)
        assert_matches(x_bar, ex_bar, exact=False, tol=1e-10, what=f"{op} grad {name}")
