"""quantile_pool: closed forms, symmetries, precision in hard regimes, IFT derivatives.

References are independent of the spec's solver: closed forms, and a 60-digit
mpmath bisection on the defining equation (poolers_naive.quantile_root). The
derivatives are checked against central finite differences of the spec's own
forward evaluated in mpmath (40 digits) -- the IFT formulas and the root finder
share no code path.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from poolers_naive import quantile_root

from ndpool import spec
from ndpool.spec import ConstraintError

EPS = np.finfo(np.float64).eps


def qp(values, q, alpha):
    """The quantile of one window holding ``values`` (a global 1-D window)."""
    x = np.asarray(values, dtype=np.float64)[None, None]
    return spec.quantile_pool(x, q, alpha, kernel_size=x.shape[-1])[0, 0, 0]


def logit(q):
    return math.log(q) - math.log1p(-q)


@pytest.mark.parametrize("c", [0.0, -3.5, 1e6, 2.0**-30])
@pytest.mark.parametrize("q", [1e-9, 0.1, 0.5, 0.75, 1 - 1e-9])
@pytest.mark.parametrize("alpha", [1e-3, 1.0, 1e4])
def test_constant_window_closed_form(c, q, alpha):
    """All cells equal c: sigma(alpha (m - c)) = q, so m = c + logit(q)/alpha."""
    with mpmath.workdps(50):
        exact = mpmath.mpf(c) + (mpmath.log(q) - mpmath.log1p(-mpmath.mpf(q))) / alpha
    m = qp([c] * 5, q, alpha)
    assert abs(m - float(exact)) <= 4 * EPS * abs(float(exact))


@pytest.mark.parametrize("alpha", [1e-3, 0.5, 1.0, 7.0, 1e3])
def test_two_cells_median_is_the_mean(alpha):
    rng = np.random.default_rng(int(alpha * 1000))
    for a, b in rng.standard_normal((20, 2)) * 10:
        assert abs(qp([a, b], 0.5, alpha) - (a + b) / 2) <= 4 * EPS * max(abs(a), abs(b))


def test_translation_reflection_permutation_monotonicity():
    rng = np.random.default_rng(1)
    for _ in range(30):
        k = int(rng.integers(1, 7))
        x = rng.standard_normal(k) * rng.choice([0.1, 1.0, 10.0])
        q = float(rng.uniform(0.05, 0.95))
        alpha = float(rng.choice([0.3, 1.0, 5.0]))
        m = qp(x, q, alpha)
        scale = max(1.0, np.abs(x).max(), abs(m)) * 16 * EPS
        c = float(rng.standard_normal() * 5)
        assert abs(qp(x + c, q, alpha) - (m + c)) <= scale + 16 * EPS * abs(c)
        assert abs(qp(-x, 1 - q, alpha) + m) <= scale
        assert abs(qp(rng.permutation(x), q, alpha) - m) <= scale
        # monotone: raising a cell never lowers m (it may not move it: saturated sigma);
        # raising q strictly raises it (dm/dq = n / (alpha S) > 0)
        bumped = x.copy()
        bumped[rng.integers(k)] += 0.5
        assert qp(bumped, q, alpha) >= m
        assert qp(x + 0.5, q, alpha) > m
        assert qp(x, min(q + 0.02, 0.99), alpha) > m


HARD = [
    # (values, q, alpha): saturated sigmas, tiny / huge alpha, extreme q, wide windows
    ([0.0, 1e6], 0.5, 1.0),
    ([1e6, 0.0, 1e6, 0.0], 0.5, 1.0),
    ([0.0, 1e6, 1e6], 1 / 3, 1.0),  # n q = 1 - 5.6e-17 for the float q: the root is ~37.4
    ([0.0, 1e3, 2e3, 3e3], 0.25, 3.0),
    ([0.0, 1.0, 2.0, 1e3], 0.999999, 50.0),
    ([-1.0, 0.0, 1.0], 1e-12, 1.0),
    ([-1.0, 0.0, 1.0], 1 - 1e-12, 1.0),
    ([3.0, 3.0 + 1e-9, 3.0 - 1e-9], 0.3, 1e9),
    ([0.0, 1.0, 10.0], 0.5, 1e6),
    ([1e-300, 2e-300], 0.25, 1e-3),
    ([5.0, -2.0, 7.5, 0.25, 0.5], 0.6, 1e-8),
    ([100.0, 101.0, 102.0], 0.9, 40.0),
]


@pytest.mark.parametrize("values,q,alpha", HARD)
def test_full_float64_precision_in_hard_regimes(values, q, alpha):
    exact = quantile_root(values, q, alpha)
    m = qp(values, q, alpha)
    # the root is correct to a few ulps of the window's scale
    scale = max(abs(float(exact)), max(abs(v) for v in values), abs(logit(q) / alpha))
    assert abs(m - float(exact)) <= 8 * EPS * scale, (m, float(exact))


def test_weights_do_not_underflow():
    """x = [0, 1e6], q = 1/2: m = 5e5, every s_i = e^-5e5 underflows -- in log space the
    weights are still 1/2 each, and dm/dq is +inf, not NaN."""
    x = np.array([[[0.0, 1e6]]])
    (x_bar, q_bar, a_bar) = spec.vjp(
        "quantile_pool", (x, 0.5, 1.0), np.ones((1, 1, 1)), kernel_size=2
    )
    np.testing.assert_array_equal(x_bar, [[[0.5, 0.5]]])
    assert q_bar == np.inf and np.isfinite(a_bar)


def mp_array(a):
    a = np.asarray(a, dtype=np.float64)
    out = np.empty(a.shape, dtype=object)
    out.ravel()[:] = [mpmath.mpf(float(v)) for v in a.ravel()]
    return out


@pytest.mark.parametrize("seed", range(4))
def test_ift_derivatives_match_mpmath_finite_differences(seed):
    rng = np.random.default_rng(seed)
    d = 1 + seed % 2
    spatial = (5,) if d == 1 else (3, 4)
    cfg = {"kernel_size": (3,) * d, "stride": (2,) * d, "padding": (1,) * d}
    x = rng.standard_normal((1, 2, *spatial))
    q = rng.uniform(0.1, 0.9, 2)
    alpha = rng.uniform(0.3, 4.0, 2)
    v = [rng.standard_normal(x.shape), rng.standard_normal(2), rng.standard_normal(2)]
    _, y_dot = spec.jvp("quantile_pool", (x, q, alpha), v, **cfg)
    with mpmath.workdps(40):
        h = mpmath.mpf(10) ** -15
        prim = [mp_array(x), mp_array(q), mp_array(alpha)]
        tan = [mp_array(t) for t in v]
        plus = spec.quantile_pool(*[p + h * t for p, t in zip(prim, tan)], **cfg)
        minus = spec.quantile_pool(*[p - h * t for p, t in zip(prim, tan)], **cfg)
        fd = np.vectorize(float)((plus - minus) / (2 * h))
    np.testing.assert_allclose(y_dot, fd, rtol=1e-12, atol=1e-12)


def test_closed_form_derivatives_of_a_constant_window():
    """Constant window: s_i all equal, so dm/dx_i = 1/n, dm/dq = 1/(alpha q (1-q)),
    dm/dalpha = -logit(q)/alpha^2."""
    x = np.full((1, 1, 4), 2.0)
    q, alpha = 0.2, 3.0
    x_bar, q_bar, a_bar = spec.vjp(
        "quantile_pool", (x, q, alpha), np.ones((1, 1, 1)), kernel_size=4
    )
    np.testing.assert_allclose(x_bar, 0.25, rtol=4 * EPS)
    np.testing.assert_allclose(q_bar, 1 / (alpha * q * (1 - q)), rtol=8 * EPS)
    np.testing.assert_allclose(a_bar, -logit(q) / alpha**2, rtol=8 * EPS)


def test_mpmath_forward_matches_float64():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 6))
    y64 = spec.quantile_pool(x, 0.3, 2.0, kernel_size=3)
    with mpmath.workdps(30):
        ymp = spec.quantile_pool(mp_array(x), mpmath.mpf("0.3"), mpmath.mpf(2), kernel_size=3)
        assert ymp.dtype == object
        np.testing.assert_allclose(np.vectorize(float)(ymp), y64, rtol=8 * EPS, atol=8 * EPS)


def test_padding_is_absent_and_nan_propagates():
    x = np.array([[[1.0, 5.0, np.nan, 2.0]]])
    y = spec.quantile_pool(
        x, 0.5, 1.0, kernel_size=2, padding=1, stride=2
    )  # [pad 1] [5 nan] [2 pad]
    assert y[0, 0, 0] == 1.0 + logit(0.5) and np.isnan(y[0, 0, 1]) and y[0, 0, 2] == 2.0


def test_C17_quantile_q_and_alpha():
    x = np.zeros((1, 2, 4))
    for q in (0.0, 1.0, -0.5, 1.5, np.nan):
        with pytest.raises(ConstraintError, match=r"^C17: q=.*strictly inside \(0, 1\)"):
            spec.quantile_pool(x, q, 1.0, kernel_size=2)
    with pytest.raises(ConstraintError, match=r"^C17: q="):
        spec.quantile_pool(x, np.array([0.5, 1.0]), 1.0, kernel_size=2)
    for alpha in (0.0, -1.0, np.inf):
        with pytest.raises(ConstraintError, match=r"^C17: alpha="):
            spec.quantile_pool(x, 0.5, alpha, kernel_size=2)
