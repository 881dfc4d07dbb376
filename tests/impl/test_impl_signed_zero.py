"""A tie of -0.0 and +0.0 is a tie: the value is the first zero's, as the spec's first
row-major maximizer (the value-only separable path once returned amax's choice)."""

import numpy as np
import pytest
import torch

from ndpool import impl, spec


def _zeros(shape, seed):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(shape) < 0.5, -0.0, 0.0)


CALLS = {
    "max_pool": (4, {"kernel_size": 2}),
    "adaptive_max_pool": (5, {"output_size": 2}),
}


@pytest.mark.parametrize("op", sorted(CALLS))
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_signed_zero_tie(op, d, seed):
    extent, cfg = CALLS[op]
    x = _zeros((2, 3) + (extent,) * d, seed)
    got = getattr(impl, op)(torch.from_numpy(x), **cfg).numpy()
    want = getattr(spec, op)(x, **cfg)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("seed", range(6))
def test_max_value_path_matches_spec_bitwise(seed):
    """The value-only max (separable elementwise maximum, then the first zero's sign per
    window) against the spec, bit for bit (NaN's sign aside), on inputs of mostly signed
    zeros with -1, 1, -inf and NaN, under random padding, dilation, stride and ceil_mode
    (where a padded or overhang cell and an empty window must not take part)."""
    rng = np.random.default_rng(seed)
    cells = np.array([0.0, -0.0, -1.0, 1.0, -np.inf, np.nan])
    checked = 0
    while checked < 25:
        d = int(rng.integers(1, 5))
        kernel = tuple(int(k) for k in rng.integers(1, 4, d))
        cfg = dict(
            kernel_size=kernel,
            stride=tuple(int(s) for s in rng.integers(1, 3, d)),
            padding=tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel),
            dilation=tuple(int(v) for v in rng.integers(1, 3, d)),
            ceil_mode=bool(rng.integers(0, 2)),
        )
        shape = (2, 2) + tuple(int(n) for n in rng.integers(1, 6, d))
        x = rng.choice(cells, size=shape, p=[0.35, 0.35, 0.1, 0.08, 0.1, 0.02])
        try:
            want = spec.max_pool(x, **cfg)
        except ValueError:  # a geometry the spec rejects (checked elsewhere)
            continue
        for dtype in (torch.float64, torch.float32):
            got = impl.max_pool(torch.tensor(x, dtype=dtype), **cfg).double().numpy()
            np.testing.assert_array_equal(got, want)  # NaN == NaN here
            signs = np.signbit(got) & ~np.isnan(got), np.signbit(want) & ~np.isnan(want)
            np.testing.assert_array_equal(*signs, err_msg=str(cfg))
        checked += 1
