"""A tie of -0.0 and +0.0 is a tie: the value is the first zero's, as the spec's first
row-major maximizer (the value-only separable path once returned amax's choice)."""

import numpy as np
import pytest
import torch

from ndpool import impl, spec


def _zeros(shape, seed):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(shape) < 0.5, -0.0, 0.0)


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_max_pool_signed_zero_tie(d, seed):
    x = _zeros((2, 3) + (4,) * d, seed)
    got = impl.max_pool(torch.from_numpy(x), kernel_size=2).numpy()
    want = spec.max_pool(x, kernel_size=2)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_adaptive_max_pool_signed_zero_tie(d, seed):
    x = _zeros((2, 3) + (5,) * d, seed)
    got = impl.adaptive_max_pool(torch.from_numpy(x), output_size=2).numpy()
    want = spec.adaptive_max_pool(x, output_size=2)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
