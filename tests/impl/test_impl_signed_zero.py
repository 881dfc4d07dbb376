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
