"""The spec's power is IEEE 754 pow, checked against Python's math.pow (C99 Annex F),
including -inf under every kind of exponent (NumPy's own power computes e = 0.5 as a
square root and gives NaN there)."""

import math

import numpy as np
import pytest

from ndpool.spec import numeric as nm

BASES = [-math.inf, -2.0, -0.0, 0.0, 0.5, 2.0, math.inf]
EXPONENTS = [-3.0, -2.0, -1.5, -0.5, 0.0, 1 / 3, 0.5, 1.0, 1.5, 2.0, 3.0, 2.5]


def _ieee(b, e):
    if b == 0 and e < 0:  # IEEE: +-inf (math.pow raises instead)
        odd = e == round(e) and int(e) % 2 == 1
        return math.copysign(math.inf, b) if odd else math.inf
    try:
        return math.pow(b, e)
    except ValueError:  # a finite negative base under a non-integer exponent
        return math.nan


@pytest.mark.parametrize("e", EXPONENTS)
def test_float_power_is_ieee(e):
    got = nm.power(np.array(BASES), e)
    want = np.array([_ieee(b, e) for b in BASES])
    np.testing.assert_array_equal(got, want)
    real = ~np.isnan(want)  # the sign of a NaN means nothing
    np.testing.assert_array_equal(np.signbit(got[real]), np.signbit(want[real]))


@pytest.mark.parametrize("e", [-3.0, -0.5, 0.5, 1.5, 3.0])
def test_mpmath_power_at_neg_inf_is_ieee(e):
    got = nm.power(np.array([-math.inf], dtype=object), np.array([e], dtype=object))
    assert float(got[0]) == _ieee(-math.inf, e)
