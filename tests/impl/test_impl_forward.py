"""impl forward values and indices against the spec: ranks 1..5, every op, ties,
NaN, +-inf, padding forms, dilation (including all-padding windows), ceil_mode,
batched and unbatched, float64 and float32."""

from __future__ import annotations

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
    spec_call,
    tolerance,
)

from ndpool import spec


@pytest.mark.parametrize("shape,cfg", SLIDING, ids=[case_id(s, c) for s, c in SLIDING])
@pytest.mark.parametrize("op,params,options", OP_CASES, ids=[f"{o}{p}{q}" for o, p, q in OP_CASES])
def test_forward_matches_spec(op, params, options, shape, cfg):
    cfg = {**cfg, **options}
    for kind, dtype in (("special", torch.float64), ("normal", torch.float32)):
        x = make_input(shape, seed=len(shape) * 7 + len(op), kind=kind, dtype=dtype)
        expected = spec_call(op, x, params, cfg)
        got = impl_call(op, x, params, cfg)
        exact = spec.OPS[op].exact or (op == "lp_pool" and params[0] == float("inf"))
        tol = None if exact else tolerance(op, x, cfg, expected, dtype, params)
        assert got.dtype == dtype
        assert_matches(got, expected, exact=exact, tol=tol, what=f"{op} {kind} {dtype} {cfg}")


@pytest.mark.parametrize("shape,cfg", SLIDING, ids=[case_id(s, c) for s, c in SLIDING])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_max_pool_indices_match_spec(shape, cfg, requires_grad):
    """Ties, NaN (first NaN, unlike PyTorch's last), -inf next to padding, empty windows."""
    x = make_input(shape, seed=11, kind="special").requires_grad_(requires_grad)
    y, index = spec_call("max_pool", x, (), cfg, return_indices=True)
    got_y, got_index = impl_call("max_pool", x, (), cfg, return_indices=True)
    assert_matches(got_y, y, exact=True, what=f"max value {cfg}")
    assert got_index.dtype == torch.int64
    assert (got_index.numpy() == index).all(), f"indices differ for {cfg}"


def test_max_pool_first_nan_wins_where_torch_takes_the_last():
    x = torch.tensor([[[1.0, float("nan"), 2.0, float("nan")]]], requires_grad=True)
    y, index = spec_call("max_pool", x, (), dict(kernel_size=4), return_indices=True)
    got_y, got_index = impl_call("max_pool", x, (), dict(kernel_size=4), return_indices=True)
    assert got_index.item() == index.item() == 1
    assert_matches(got_y, y, exact=True, what="first NaN")
    got_y.sum().backward()
    assert x.grad.tolist() == [[[0.0, 1.0, 0.0, 0.0]]]


def test_max_pool_minus_inf_next_to_padding_selects_a_real_cell():
    x = torch.full((1, 1, 3, 3), -float("inf"))
    cfg = dict(kernel_size=3, stride=1, padding=1)
    y, index = spec_call("max_pool", x, (), cfg, return_indices=True)
    got_y, got_index = impl_call("max_pool", x, (), cfg, return_indices=True)
    assert_matches(got_y, y, exact=True, what="-inf windows")
    assert (got_index.numpy() == index).all() and (got_index >= 0).all()


@pytest.mark.parametrize("shape,output_size", ADAPTIVE)
def test_adaptive_matches_spec(shape, output_size):
    x = make_input(shape, seed=3, kind="special")
    cfg = {"output_size": output_size}
    y, index = spec_call("adaptive_max_pool", x, (), cfg, return_indices=True)
    got_y, got_index = impl_call("adaptive_max_pool", x, (), cfg, return_indices=True)
    assert_matches(got_y, y, exact=True, what=f"adaptive max {shape} {output_size}")
    assert (got_index.numpy() == index).all()
    xn = make_input(shape, seed=4, kind="normal")
    expected = spec_call("adaptive_avg_pool", xn, (), cfg)
    tol = tolerance("adaptive_avg_pool", xn, cfg, expected, torch.float64)
    assert_matches(impl_call("adaptive_avg_pool", xn, (), cfg), expected, exact=False, tol=tol)


@pytest.mark.parametrize("op,params,options", OP_CASES[::2], ids=[o for o, _, _ in OP_CASES[::2]])
def test_unbatched_input(op, params, options):
    shape, cfg = SLIDING[5]
    cfg = {**cfg, **options}
    x = make_input(shape, seed=5, kind="normal", batch=(3,))
    expected = spec_call(op, x, params, cfg)
    got = impl_call(op, x, params, cfg)
    assert got.shape == expected.shape
    tol = tolerance(op, x, cfg, expected, x.dtype, params)
    assert_matches(got, expected, exact=False, tol=tol)


def test_per_channel_parameters():
    x = make_input((7, 6), seed=9, kind="normal")
    cfg = dict(kernel_size=3, stride=2, padding=1)
    for op, p in (("lp_pool", [1.0, 2.5, float("inf")]), ("smooth_max_pool", [0.5, 1.0, 4.0])):
        p = torch.tensor(p, dtype=torch.float64)
        expected = spec_call(op, x, (p.numpy(),), cfg)
        got = impl_call(op, x, (p,), cfg)
        assert_matches(got, expected, exact=False, tol=1e-12, what=op)


def test_empty_batch():
    x = torch.zeros(0, 3, 5, 5)
    for op, params, options in OP_CASES:
        got = impl_call(op, x, params, dict(kernel_size=2, **options))
        assert got.shape == (0, 3, 2, 2)
