"""Smooth max pooling: ``(1/beta) log sum_i exp(beta x_i)``.

Forward: ``|y^ - y| <= u ((n + 3)/beta + 2 sum_i w_i (|x_i| + |m|) + 3 |y| + |m|) + tiny``
with the softmax weights ``w_i`` and the window max ``m`` (the exponent ``beta x_i - beta
m`` may be formed from separately rounded products). Partials: the weights, each off by
the exponent's error (``2u beta (|x_i| + |y|)`` plus ``beta`` times the error of ``y``)
and ``4u`` for the exp; ``dy/dbeta`` bounded on the magnitudes of its terms.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ..record import FINITE_REGIMES, Invalid, OpInfo, choose, param, param_shape, param_value
from ..tolerances import Allowed, Partials, Windows, param_partials, spec_value


def _present(case, win: Windows) -> np.ndarray:
    """The cells that take part: the padded extent under ``padding_policy="zero"``."""
    present = win.in_extent if case.cfg.get("padding_policy") == "zero" else win.real
    return np.broadcast_to(present, win.w.shape)


def _bound(win: Windows, y, beta, present):
    """``u ((n + 3)/beta + 2 sum_i w_i (|x_i| + |m|) + 3 |y| + |m|)``."""
    with np.errstate(all="ignore"):
        cand = np.where(present, win.w, -np.inf)
        m = cand.max(axis=-1)
        wts = np.where(present, np.exp(beta[..., None] * (cand - y[..., None])), 0.0)
        spread = np.where(
            present & (wts > 0), wts * (np.abs(win.w) + np.abs(m[..., None])), 0.0
        ).sum(axis=-1)
        return win.u * ((win.n + 3) / beta + 2 * spread + 3 * np.abs(y) + np.abs(m))


def logsumexp_forward(case, ref) -> Allowed:
    win = Windows(case)
    y = win.batch(ref)
    with np.errstate(all="ignore"):
        bound = _bound(win, y, win.param(0), _present(case, win)) + win.tiny
    return Allowed.radius(ref, win.unbatch(bound))


def logsumexp_partials(case, win: Windows) -> Partials:
    """In units of ``d_i = x_i - m`` and ``L = y - m`` (``m`` the window max): the weights
    are ``exp(beta d_i - beta L)`` and ``dy/dbeta = (sum_i w_i d_i - L) / beta``, so their
    error bounds scale with ``|d_i|`` and ``|L|``, not with ``|x_i|`` and ``|y|`` -- which
    near the dtype's largest value overflow, and which ``y``'s own rounding (``L`` vanishes
    in it) makes no bound on the weights at all."""
    u = win.u
    y = win.batch(spec_value(case))
    beta = win.param(0)[..., None]
    present = _present(case, win)
    with np.errstate(all="ignore"):
        cand = np.where(present, win.w, -np.inf)
        m = cand.max(axis=-1)
        shift = np.where(np.isfinite(m), m, 0.0)[..., None]
        d = np.abs(win.w - shift)
        lse = np.abs(y[..., None] - shift)
        wts = np.where(present, np.exp(beta * (cand - shift) - beta * lse), 0.0)
        # the error of L: log of a sum of n weights in [0, 1], over beta
        b_l = u * ((win.n[..., None] + 3) / beta + 2 * (wts * d).sum(-1, keepdims=True) + 3 * lse)
        eps = beta * b_l + u * (2 * beta * (d + lse) + 4)
        mag = np.where(win.real, wts, 0.0)
        # dy/dbeta = (sum_i w_i d_i - L) / beta: each term off by its weight's relative
        # error eps_i plus (n + 8) u for the differences, the sum and the division, and by
        # w_i B_L for the error B_L of L itself (it may exceed |L|, e.g. log(1 + e^-16) in
        # float32); the terms may cancel, so the bound is on their magnitudes
        per = wts * ((d + lse) * (eps + (win.n[..., None] + 8) * u) + b_l)
        d_beta = np.where(present & (wts > 0), per, 0.0).sum(axis=-1) / win.param(0)
    # smooth max's chain rule (y = lse(beta x) / beta) rounds y_bar w / beta and only then
    # multiplies by beta: beta more subnormal units per term
    units = win.real * (1 + beta)
    eps_x = np.where(win.real & (mag > 0), eps, 0.0)
    return Partials([(mag, eps_x * mag), (param_partials(case, win), d_beta)], units=units)


def _smooth_params(draw, caps, channels, dtype, purpose):
    # small and large beta too: beta x past exp's range (and beta (x - m) within it)
    values = st.one_of(
        st.sampled_from((0.5, 1.0, 2.0, 8.0)),
        st.floats(0.125, 16.0),
        st.sampled_from((2.0**-10, 1000.0)),
    )
    return (param(draw, caps, channels, dtype, values),)


def _smooth_options(draw, caps, purpose):
    if caps.config_keys is not None and "padding_policy" not in caps.config_keys:
        return {}
    return {"padding_policy": choose(draw, caps, "padding_policy", ("ignore", "zero"))}


def _smooth_scale(params, alpha):
    (beta,) = params
    return (beta / alpha,)  # f(alpha x; beta / alpha) = alpha f(x; beta)


SMOOTH_INVALID = (
    Invalid("C11", "beta = 0", "beta", param_value(0.0)),
    Invalid("C11", "beta < 0", "beta", param_value(-1.0)),
    Invalid("C11", "beta = inf", "beta", param_value(np.inf)),
    Invalid("C11", "beta NaN", "beta", param_value(np.nan)),
    Invalid("C12", "beta of shape [C+1]", "per_channel", param_shape),
    Invalid(
        "C14",
        "padding_policy='edge'",
        "padding_policy",
        lambda draw, caps, c: {"padding_policy": "edge"},
    ),
)

SMOOTH_MAX_POOL = OpInfo(
    "smooth_max_pool",
    draw_params=_smooth_params,
    draw_options=_smooth_options,
    forward=logsumexp_forward,
    partials=logsumexp_partials,
    invalid=SMOOTH_INVALID,
    gradient_regimes=FINITE_REGIMES,
    scale_params=_smooth_scale,
)
