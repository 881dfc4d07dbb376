"""Integer inputs: max pooling takes int8 ... int64 and is exact in the input's dtype; an
empty window is the dtype's minimum; integers have no derivatives (jvp / vjp raise); the
ops whose value is not a window cell reject integers, and every op rejects bool and uint64.

Oracles: the naive loop reference (float64, exact for the dtypes up to 32 bits) and, for
int64 values past 2**53 where float64 is not exact, the float path of the spec run on the
*ranks* of the values (an order-preserving map: it selects the same cells).
"""

from __future__ import annotations

import naive_reference as naive
import numpy as np
import pytest
from spec_helpers import (
    assert_same,
    random_adaptive_config,
    random_sliding_config,
    valid_params,
)

from ndpool import spec
from ndpool.spec.numeric import INTEGER_DTYPES

INTEGERS = [dt.name for dt in INTEGER_DTYPES]
MAX_OPS = [name for name, op in spec.OPS.items() if op.integers]


def test_integer_ops_are_the_max_pools():
    assert sorted(MAX_OPS) == ["adaptive_max_pool", "max_pool"]


def _ints(rng, shape, dtype) -> np.ndarray:
    """Values over the dtype's whole range, its ends and small ties included."""
    info = np.iinfo(dtype)
    n = int(np.prod(shape))
    wide = rng.integers(info.min, info.max, size=n, dtype=np.int64, endpoint=True)
    small = rng.integers(max(info.min, -3), min(info.max, 3), size=n, endpoint=True)
    ends = rng.choice(np.array([info.min, info.max], dtype=np.int64), size=n)
    kind = rng.integers(0, 3, size=n)
    out = np.where(kind == 0, wide, np.where(kind == 1, small, ends))
    return out.astype(dtype).reshape(shape)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Dense ranks of ``x`` as float64 (equal values, equal ranks)."""
    _, inverse = np.unique(x, return_inverse=True)
    return inverse.reshape(x.shape).astype(np.float64)


def _config(rng, name, d):
    if spec.OPS[name].adaptive:
        return random_adaptive_config(rng, d)
    return random_sliding_config(rng, d)


@pytest.mark.parametrize("dtype", INTEGERS)
@pytest.mark.parametrize("name", MAX_OPS)
def test_integer_max_is_exact_in_its_dtype(name, dtype):
    rng = np.random.default_rng(11)
    for i in range(10):
        d = 1 + i % 3
        spatial, cfg = _config(rng, name, d)
        x = _ints(rng, (2, 2, *spatial), dtype)
        y, idx = spec.OPS[name](x, return_indices=True, **cfg)
        what = f"{name} {dtype} x.shape={x.shape} cfg={cfg}"
        assert y.dtype == np.dtype(dtype), f"{what}: output dtype {y.dtype}"
        # the same cells as the float path on the ranks (ties keep their order)
        y_rank, idx_rank = spec.OPS[name](_ranks(x), return_indices=True, **cfg)
        assert_same(idx, idx_rank, what + " indices (against the ranks)")
        empty = idx == -1
        assert (np.isneginf(y_rank) == empty).all(), what
        plane = x.reshape(x.shape[:2] + (-1,))
        picked = np.take_along_axis(plane, np.maximum(idx, 0).reshape(x.shape[:2] + (-1,)), -1)
        want = np.where(empty, np.iinfo(dtype).min, picked.reshape(idx.shape))
        np.testing.assert_array_equal(y, want.astype(dtype), err_msg=what)
        if np.dtype(dtype).itemsize <= 4:  # float64 holds these exactly: the naive loops
            y_ref, idx_ref = naive.max_pool(
                x.astype(np.float64), adaptive=spec.OPS[name].adaptive, **cfg
            )
            y_ref = np.where(idx_ref == -1, np.iinfo(dtype).min, y_ref)
            np.testing.assert_array_equal(y.astype(np.float64), y_ref, err_msg=what + " (naive)")
            np.testing.assert_array_equal(idx, idx_ref, err_msg=what + " indices (naive)")


def test_int64_past_2_to_the_53_is_not_rounded():
    big = 2**62
    x = np.array([[[big + 1, big, big + 3, big + 2]]], dtype=np.int64)
    y, idx = spec.max_pool(x, kernel_size=2, return_indices=True)
    assert y.tolist() == [[[big + 1, big + 3]]] and idx.tolist() == [[[0, 2]]]
    # float64 would make big and big + 1 equal and select the first of them
    assert np.float64(big) == np.float64(big + 1)


@pytest.mark.parametrize("dtype", INTEGERS)
@pytest.mark.parametrize("empty_window", ["-inf", "lowest"])
def test_integer_empty_window_is_the_dtype_minimum(dtype, empty_window):
    x = np.array([[[7, 9]]], dtype=dtype)
    y, idx = spec.max_pool(
        x,
        kernel_size=2,
        stride=1,
        padding=((3, 0),),
        return_indices=True,
        empty_window=empty_window,
    )
    lo = np.iinfo(dtype).min
    assert y.dtype == np.dtype(dtype)
    assert y.tolist() == [[[lo, lo, 7, 9]]] and idx.tolist() == [[[-1, -1, 0, 1]]]


@pytest.mark.parametrize("name", MAX_OPS)
def test_integers_have_no_derivatives(name):
    x = np.array([[[1, 5, 2, 8]]], dtype=np.int32)
    cfg = {"output_size": 2} if spec.OPS[name].adaptive else {"kernel_size": 2}
    y = spec.OPS[name](x, **cfg)
    with pytest.raises(TypeError, match="integer inputs have no derivatives"):
        spec.jvp(name, (x,), (np.ones(x.shape),), **cfg)
    with pytest.raises(TypeError, match="integer inputs have no derivatives"):
        spec.vjp(name, (x,), np.ones(y.shape), **cfg)
    # the float input of the same values has them
    (x_bar,) = spec.vjp(name, (x.astype(np.float64),), np.ones(y.shape), **cfg)
    assert x_bar.tolist() == [[[0.0, 1.0, 0.0, 1.0]]]


@pytest.mark.parametrize("name", [n for n in spec.OPS if n not in MAX_OPS])
def test_ops_whose_value_is_not_a_cell_reject_integers(name):
    op = spec.OPS[name]
    x = np.array([[[1, 5, 2, 8]]], dtype=np.int16)
    cfg = {"output_size": 2} if op.adaptive else {"kernel_size": 2}
    params = valid_params(op, x, cfg, np.random.default_rng(0))
    op.forward(x.astype(np.float64), *params, **cfg)  # valid as floats
    with pytest.raises(TypeError, match="integer inputs are taken by"):
        op.forward(x, *params, **cfg)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint64, np.complex128])
def test_bool_uint64_and_complex_are_rejected(dtype):
    with pytest.raises(TypeError, match="the spec takes float16"):
        spec.max_pool(np.zeros((1, 1, 4), dtype=dtype), kernel_size=2)
