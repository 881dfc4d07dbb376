"""The research poolers' defaults follow the sources they come from.

Each test compares the spec with an independent computation: every training draw of
S3Pool enumerated, the zero-padding convention written out, mixed pooling for the
gate's bias, the source's ``(mean |x|^p)^(1/p)`` in plain Python, and finite
differences in float64 for the new derivatives.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ndpool import spec


# -- S3Pool: eval is the expectation of the training output ----------------------------------
def _all_draws(x_shape, **cfg):
    """Every ``indices`` the reference sampler can draw (each equally likely): per axis and
    grid every sorted ``g/stride``-subset of the grid's rows."""
    per_axis = []
    for a in spec.s3_layout(x_shape, **cfg):
        grids = [
            list(itertools.combinations(range(lo, hi), a["per_grid"])) for lo, hi in a["bounds"]
        ]
        per_axis.append([sum(pick, ()) for pick in itertools.product(*grids)])
    return [np.array(sum(rows, ()), dtype=np.int64) for rows in itertools.product(*per_axis)]


def _mean_over_draws(x, **cfg):
    """``(mean, bound)``: the average of the training output over every draw, and the
    rounding both sides may carry. The spec's eval sums at most ``D`` (the draws) weighted
    cells with exact integer weights and divides once, the mean here sums ``D`` outputs and
    divides once: each is within ``(D + 1) u M`` of the exact expectation, ``M`` the mean of
    ``|y|`` over the draws (``u = 2^-53``), so they differ by at most ``(2 D + 2) u M``."""
    draws = _all_draws(x.shape, **cfg)
    outs = [spec.s3_pool(x, idx, mode="train", **cfg) for idx in draws]
    magnitude = sum(np.abs(y) for y in outs) / len(draws)
    return sum(outs) / len(draws), (2 * len(draws) + 2) * 2.0**-53 * magnitude


S3_CASES = [
    ((1, 1, 8), {"kernel_size": 2}),
    ((1, 1, 9), {"kernel_size": 2}),  # the last grid runs to the end of the map
    ((1, 1, 8), {"kernel_size": 2, "grid_size": 4}),  # two of every four rows
    ((2, 1, 11), {"kernel_size": 3, "stride": 1, "grid_size": 3, "padding": 1}),
    ((1, 2, 10), {"kernel_size": 2, "stride": 2, "grid_size": 6, "dilation": 2}),
    ((1, 2, 6, 7), {"kernel_size": (2, 1), "stride": (2, 1), "grid_size": (4, 2)}),
    ((1, 1, 5, 6), {"kernel_size": 2, "padding": ((1, 0), (0, 1))}),
]


@pytest.mark.parametrize("shape,cfg", S3_CASES, ids=[str(c) for _, c in S3_CASES])
def test_s3_eval_is_the_mean_over_every_training_draw(shape, cfg):
    rng = np.random.default_rng(len(shape) * 7 + sum(shape))
    x = rng.standard_normal(shape)
    got = spec.s3_pool(x, mode="eval", **cfg)
    want, bound = _mean_over_draws(x, **cfg)
    assert got.shape == want.shape, f"eval shape {got.shape}, training shape {want.shape}, {cfg}"
    assert (np.abs(got - want) <= bound).all(), (cfg, np.abs(got - want).max(), bound.max())


def test_s3_eval_on_the_worked_example():
    """k = s = grid = 2 on [3, 1, 4, 1, 5, 9, 2, 6]: the stride-1 max map is
    [3, 4, 4, 5, 9, 9, 6], the grids [3 4] [4 5] [9 9] [6]."""
    x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]]])
    np.testing.assert_array_equal(
        spec.s3_pool(x, kernel_size=2, mode="eval"), [[[3.5, 4.5, 9.0, 6.0]]]
    )
    np.testing.assert_array_equal(_mean_over_draws(x, kernel_size=2)[0], [[[3.5, 4.5, 9.0, 6.0]]])


def test_s3_padded_eval_rule_is_the_reference_codes_average():
    """The named option keeps the reference code's path: avg_pool(m, k=s, stride=s,
    padding=s//2, count_include_pad=False) on the stride-1 max map."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 9))
    m = spec.max_pool(x, kernel_size=2, stride=1)
    want = spec.avg_pool(m, kernel_size=2, stride=2, padding=1, count_include_pad=False)
    got = spec.s3_pool(x, kernel_size=2, mode="eval", eval_rule="padded")
    np.testing.assert_allclose(got, want, rtol=1e-15)
    x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]]])
    np.testing.assert_array_equal(
        spec.s3_pool(x, kernel_size=2, mode="eval", eval_rule="padded"), [[[3.0, 4.0, 7.0, 7.5]]]
    )


@pytest.mark.parametrize("shape,cfg", S3_CASES[2:6], ids=[str(c) for _, c in S3_CASES[2:6]])
def test_s3_eval_derivatives_match_finite_differences(shape, cfg):
    """Distinct values 1 apart: the stride-1 maxima do not switch under the step."""
    rng = np.random.default_rng(11)
    x = rng.permutation(math.prod(shape)).reshape(shape).astype(np.float64)
    v = rng.standard_normal(shape)
    cfg = {**cfg, "mode": "eval"}
    _, y_dot = spec.jvp("s3_pool", (x, None), (v, None), **cfg)
    h = 1e-6
    fd = (spec.s3_pool(x + h * v, **cfg) - spec.s3_pool(x - h * v, **cfg)) / (2 * h)
    np.testing.assert_allclose(y_dot, fd, rtol=1e-8, atol=1e-8)
    u = rng.standard_normal(y_dot.shape)
    x_bar = spec.vjp("s3_pool", (x, None), u, **cfg)[0]
    np.testing.assert_allclose(np.sum(y_dot * u), np.sum(v * x_bar), rtol=1e-12)


# -- smooth max: padded cells are zeros by default -------------------------------------------
def test_smooth_max_default_counts_padded_cells_as_zero():
    x = np.array([[[-30.0, -20.0, 2.0, 1.0]]])
    beta = 0.5

    def lse(vals):
        return math.log(sum(math.exp(beta * v) for v in vals)) / beta

    cfg = {"kernel_size": 3, "stride": 2, "padding": 1}
    want_zero = [lse([0.0, -30.0, -20.0]), lse([-20.0, 2.0, 1.0])]
    want_ignore = [lse([-30.0, -20.0]), lse([-20.0, 2.0, 1.0])]
    np.testing.assert_allclose(spec.smooth_max_pool(x, beta, **cfg)[0, 0], want_zero, rtol=1e-14)
    ignored = spec.smooth_max_pool(x, beta, padding_policy="ignore", **cfg)
    np.testing.assert_allclose(ignored[0, 0], want_ignore, rtol=1e-14)
    assert spec.OPS["smooth_max_pool"].option_defaults["padding_policy"] == "zero"


# -- gated pooling: the gate's bias ----------------------------------------------------------
@pytest.mark.parametrize("bias", [0.8, np.array([-1.5, 0.0, 2.0])])
def test_gated_with_zero_mask_and_bias_b_is_mixed_with_a_b(bias):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7))
    cfg = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    got = spec.gated_pool(x, np.zeros(3), bias, **cfg)
    np.testing.assert_allclose(got, spec.mixed_pool(x, bias, **cfg), rtol=1e-15, atol=1e-15)


def test_gated_bias_derivative_matches_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7))
    omega = 0.5 * rng.standard_normal((3, 3))
    bias = rng.standard_normal(3)
    cfg = {"kernel_size": 3, "stride": 2}
    vb = rng.standard_normal(3)
    _, y_dot = spec.jvp("gated_pool", (x, omega, bias), (None, None, vb), **cfg)
    h = 1e-6
    fd = (
        spec.gated_pool(x, omega, bias + h * vb, **cfg)
        - spec.gated_pool(x, omega, bias - h * vb, **cfg)
    ) / (2 * h)
    np.testing.assert_allclose(y_dot, fd, rtol=1e-8, atol=1e-10)
    u = rng.standard_normal(y_dot.shape)
    b_bar = spec.vjp("gated_pool", (x, omega, bias), u, **cfg)[2]
    np.testing.assert_allclose(np.sum(y_dot * u), np.sum(vb * b_bar), rtol=1e-12)
    assert spec.vjp("gated_pool", (x, omega), u, **cfg)[2] is None


# -- Lp: the mean reduction ------------------------------------------------------------------
def _mean_lp(x, p, k, stride):
    """The source's LpPool on non-overlapping windows: ``(mean |x|^p)^(1/p)``; a partial
    last window averages its own cells."""
    out = []
    for start in range(0, len(x), stride):
        cells = x[start : start + k]
        out.append((sum(abs(v) ** p for v in cells) / len(cells)) ** (1 / p))
    return out


@pytest.mark.parametrize("p", [1.0, 2.0, 3.5, 0.5])
def test_lp_mean_reduction_is_the_sources_mean_form(p):
    x = np.array([3.0, -4.0, 1.0, 2.0, -2.0, 0.5, 7.0])
    got = spec.lp_pool(x[None, None], p, kernel_size=2, ceil_mode=True, reduction="mean")
    np.testing.assert_allclose(got[0, 0], _mean_lp(x, p, 2, 2), rtol=1e-14)
    summed = spec.lp_pool(x[None, None], p, kernel_size=2, ceil_mode=True)
    counts = np.array([2, 2, 2, 1])
    np.testing.assert_allclose(summed[0, 0], got[0, 0] * counts ** (1 / p), rtol=1e-14)
    assert spec.OPS["lp_pool"].option_defaults["reduction"] == "sum"


def test_lp_mean_reduction_with_padding_counts_real_cells_or_the_padded_extent():
    x = np.array([[[2.0, 1.0, 3.0]]])
    cfg = {"kernel_size": 3, "stride": 2, "padding": 1, "reduction": "mean"}
    got = spec.lp_pool(x, 2.0, **cfg)[0, 0]
    np.testing.assert_allclose(got, [math.sqrt(5 / 2), math.sqrt(10 / 2)], rtol=1e-15)
    rescaled = spec.lp_pool(x, 2.0, partial_window="rescaled", **cfg)[0, 0]
    np.testing.assert_allclose(rescaled, [math.sqrt(5 / 3), math.sqrt(10 / 3)], rtol=1e-15)


@pytest.mark.parametrize("partial_window", ["sum", "rescaled"])
def test_lp_mean_derivatives_match_finite_differences(partial_window):
    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 2.0, (1, 2, 7)) * rng.choice([-1, 1], (1, 2, 7))
    p = np.array([1.7, 3.0])
    cfg = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    cfg = {**cfg, "reduction": "mean", "partial_window": partial_window}
    vx, vp = rng.standard_normal(x.shape), rng.standard_normal(2)
    _, y_dot = spec.jvp("lp_pool", (x, p), (vx, vp), **cfg)
    h = 1e-6
    fd = spec.lp_pool(x + h * vx, p + h * vp, **cfg) - spec.lp_pool(x - h * vx, p - h * vp, **cfg)
    np.testing.assert_allclose(y_dot, fd / (2 * h), rtol=1e-7, atol=1e-9)
    u = rng.standard_normal(y_dot.shape)
    x_bar, p_bar = spec.vjp("lp_pool", (x, p), u, **cfg)
    np.testing.assert_allclose(np.sum(y_dot * u), np.sum(vx * x_bar) + np.sum(vp * p_bar))


# -- Gumbel pooling: the hard straight-through estimator -------------------------------------
def test_gumbel_hard_estimator_on_the_worked_example():
    x, g = np.array([[[1.0, 3.0]]]), np.array([[[[0.2, -0.1]]]])
    one = np.ones((1, 1, 1))
    hard = spec.vjp("gumbel_pool", (x, 1.0, g), one, kernel_size=2)[0]
    soft = spec.vjp("gumbel_pool", (x, 1.0, g), one, kernel_size=2, estimator="soft")[0]
    np.testing.assert_allclose(hard[0, 0], [-0.261, 1.261], atol=5e-4)
    np.testing.assert_allclose(soft[0, 0], [-0.107, 1.107], atol=5e-4)
    assert spec.OPS["gumbel_pool"].option_defaults["estimator"] == "hard"


def _per_window(temperature):
    """A ``[C]`` or ``[C, O]`` temperature as ``[1, C, O, 1]``-broadcastable."""
    return (
        temperature[None, :, None, None] if temperature.ndim == 1 else temperature[None, ..., None]
    )


@pytest.mark.parametrize("form", ["per_channel", "per_position"])
def test_gumbel_hard_estimator_is_the_sources_straight_through_derivative(form):
    """torch's ``gumbel_softmax(hard=True)`` output ``sum_i (h_i - stop(pi_i) + pi_i) x_i``
    written out, differentiated by central differences in float64 (the one-hot and the
    stopped weights held at the primal); the temperature one per channel, or one per
    channel and output position as the source learns it."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 2, 6))
    temperature = np.array([0.7, 1.6]) if form == "per_channel" else rng.uniform(0.5, 1.5, (2, 2))
    cfg = {"kernel_size": 3}
    g = rng.gumbel(size=(1, 2, 2, 3))
    vx, vt = rng.standard_normal(x.shape), rng.standard_normal(temperature.shape)
    _, y_dot = spec.jvp("gumbel_pool", (x, temperature, g), (vx, vt, None), **cfg)

    def windows(a):
        return a.reshape(1, 2, 2, 3)

    def softmax(s):
        e = np.exp(s - s.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    t0 = _per_window(temperature)
    pi0 = softmax(windows(x) / t0 + g)
    hot = np.eye(3)[(windows(x) / t0 + g).argmax(-1)]

    def source(e):
        xe, te = windows(x + e * vx), _per_window(temperature + e * vt)
        return ((hot - pi0 + softmax(xe / te + g)) * xe).sum(-1)

    h = 1e-6
    fd = (source(h) - source(-h)) / (2 * h)
    np.testing.assert_allclose(y_dot, fd, rtol=1e-8, atol=1e-9)
    u = rng.standard_normal(y_dot.shape)
    x_bar, t_bar, g_bar = spec.vjp("gumbel_pool", (x, temperature, g), u, **cfg)
    np.testing.assert_allclose(np.sum(y_dot * u), np.sum(vx * x_bar) + np.sum(vt * t_bar))
    assert g_bar is None and t_bar.shape == temperature.shape
