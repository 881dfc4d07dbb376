"""Hand-worked edge cases, one per spec bug found by the meta-tests (kept as regressions)."""

from __future__ import annotations

import math

import mpmath
import numpy as np

from ndpool import spec

INF = math.inf


def test_empty_batch_n0():
    x = np.zeros((0, 3, 4, 4))
    assert spec.max_pool(x, kernel_size=2).shape == (0, 3, 2, 2)
    (x_bar,) = spec.vjp("avg_pool", (x,), np.zeros((0, 3, 2, 2)), kernel_size=2)
    assert x_bar.shape == (0, 3, 4, 4)


def test_smooth_max_with_infinite_cells():
    # [1, inf] -> inf with zero derivatives; [3, -inf] -> 3, the -inf cell has weight 0
    x = np.array([[[1.0, INF, 3.0, -INF]]])
    y = spec.smooth_max_pool(x, 2.0, kernel_size=2)
    assert y.tolist() == [[[INF, 3.0]]]
    x_bar, beta_bar = spec.vjp("smooth_max_pool", (x, 2.0), np.ones((1, 1, 2)), kernel_size=2)
    assert x_bar.tolist() == [[[0.0, 0.0, 1.0, 0.0]]]
    assert beta_bar == 0.0  # dy/dbeta = (sum p_i x_i - y) / beta = (3 - 3) / 2


def test_smooth_max_derivatives_where_y_cannot_hold_its_offset():
    # [1, 0.75, 1] * 2**1022 at beta = 1/2: y = m + log(2)/beta rounds to m, yet the
    # weights are 1/2, 0, 1/2 and dy/dbeta = -log(2)/beta^2 (mpmath agrees); weights
    # formed from the rounded y were 1, and sum p x overflowed to inf
    x = np.array([[[1.0, 0.75, 1.0]]]) * 2.0**1022
    x_bar, beta_bar = spec.vjp(
        "smooth_max_pool", (x, 0.5), np.ones((1, 1, 1)), kernel_size=3, padding_policy="ignore"
    )
    np.testing.assert_allclose(x_bar, [[[0.5, 0.0, 0.5]]], rtol=1e-15)
    mp = np.vectorize(mpmath.mpf, otypes=[object])
    _, exact = spec.vjp(
        "smooth_max_pool", (mp(x), mpmath.mpf(0.5)), mp(np.ones((1, 1, 1))), kernel_size=3,
        padding_policy="ignore",
    )  # fmt: skip
    np.testing.assert_allclose(beta_bar, float(exact), rtol=1e-14)
    np.testing.assert_allclose(beta_bar, -math.log(2) / 0.25, rtol=1e-14)


def test_lp_with_an_infinite_cell_is_infinite():
    x = np.array([[[1.0, INF, -INF, 2.0]]])
    assert spec.lp_pool(x, 2.0, kernel_size=2).tolist() == [[[INF, INF]]]
    assert spec.lp_pool(x[..., :2], 3.0, kernel_size=2, sign="signed").tolist() == [[[INF]]]


def test_lp_signed_jvp_without_a_p_tangent_is_finite():
    # y = sqrt(1 + 4); along x_dot = (1, 1): (1 * 1 + (-2) * 1) / sqrt(5). dy/dp is not
    # defined (log of a negative cell), but a zero p tangent must not turn it into NaN.
    x = np.array([[[1.0, -2.0]]])
    _, y_dot = spec.jvp("lp_pool", (x, 2.0), (np.ones_like(x), 0.0), kernel_size=2, sign="signed")
    assert y_dot.item() == -1 / math.sqrt(5)
    with mpmath.workdps(30):
        xm = np.array([[[mpmath.mpf(1), mpmath.mpf(-2)]]], dtype=object)
        ones = np.array([[[mpmath.mpf(1)] * 2]], dtype=object)
        _, y_dot = spec.jvp(
            "lp_pool", (xm, mpmath.mpf(2)), (ones, mpmath.mpf(0)), kernel_size=2, sign="signed"
        )
        assert isinstance(y_dot.item(), mpmath.mpf)
        assert abs(y_dot.item() + 1 / mpmath.sqrt(5)) < mpmath.mpf("1e-29")


def test_lp_signed_p_derivative_at_a_negative_cell_is_nan_however_small():
    # the doc's rule: dy/dp is undefined (log of a negative cell) with sign="signed". The
    # quiet run's jacfwd mode found it 0 where the cell's scaled power underflows: -1 next
    # to 2 with p = 968 scales by 4, and (-1/4)^968 = 2^-1936 is 0, 0 * log hid the NaN
    # (p = 1000 scales by the largest cell, 2: 2^-1000 is normal, and it was NaN)
    for cells, p in (([2.0, 0.0, -1.0], 968.0), ([2.0, 0.0, -1.0], 1000.0), ([1.0, -1e-300], 2.0)):
        x = np.array([[cells]])
        k = len(cells)
        _, y_dot = spec.jvp("lp_pool", (x, p), (0 * x, 1.0), kernel_size=k, sign="signed")
        assert np.isnan(y_dot).all(), (cells, p)
        x_bar, p_bar = spec.vjp("lp_pool", (x, p), np.ones((1, 1, 1)), kernel_size=k, sign="signed")
        assert np.isnan(p_bar) and np.isfinite(x_bar).all(), (cells, p)


def test_mpmath_avg_weights_are_exact():
    # 1/3 in 50 digits, not the float64 0.333...3
    with mpmath.workdps(50):
        x = np.array([[[mpmath.mpf(1)] * 3]], dtype=object)
        (x_bar,) = spec.vjp(
            "adaptive_avg_pool", (x,), np.array([[[mpmath.mpf(1)]]], dtype=object), output_size=1
        )
        assert all(abs(v - mpmath.mpf(1) / 3) < mpmath.mpf("1e-49") for v in x_bar.ravel())


def test_mpmath_vjp_of_a_scalar_parameter():
    with mpmath.workdps(30):
        x = np.array([[[mpmath.mpf(3), mpmath.mpf(4)]]], dtype=object)
        _, p_bar = spec.vjp(
            "lp_pool",
            (x, mpmath.mpf(2)),
            np.array([[[mpmath.mpf(1)]]], dtype=object),
            kernel_size=2,
        )
        # dy/dp at p = 2 for (3, 4): (y/p)(sum t^p log t / sum t^p - log y), y = 5
        expect = (5 / mpmath.mpf(2)) * (
            (9 * mpmath.log(3) + 16 * mpmath.log(4)) / 25 - mpmath.log(5)
        )
        assert abs(p_bar.item() - expect) < mpmath.mpf("1e-28")


def test_gem_pool_nan_propagates():
    """A NaN cell makes the GeM window NaN (found by the docs' conventions probe)."""
    x = np.array([[[1.0, np.nan, 3.0, 2.0]]])
    y = spec.gem_pool(x, 3.0, kernel_size=4)
    assert np.isnan(y).all(), f"expected NaN, got {y}"
    clean = spec.gem_pool(np.array([[[1.0, 4.0, 3.0, 2.0]]]), 3.0, kernel_size=4)
    assert np.isfinite(clean).all()
