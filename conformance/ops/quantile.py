"""Quantile pooling: the implicit root ``m`` of ``sum_i sigma(alpha (m - x_i)) = n q``.

Forward: ``(K + 16) u (dm/dq + X + |m|)``: the root is where ``F/S`` vanishes; ``F`` is
a sum of ``n`` terms in ``[0, 1]`` minus ``n q``, off by ``(K + 6) u n``, which moves the
root by that over ``alpha S`` = ``(K + 6) u dm/dq``; the scores ``alpha (m - x_i)`` are
off by ``u alpha (|m| + |x_i|)``, which moves it by ``<= 2u (|m| + X)`` (weights
``s_i/S``). Monotone in x (up to rounding); ``f(c x; q, a / c) = c f(x; q, a)``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ndpool.spec.quantile import derivatives

from ..record import FINITE_REGIMES, Invalid, OpInfo, at, param
from ..tolerances import Allowed, Partials, Windows, finite


def _forward_bound(win: Windows) -> np.ndarray:
    """The bound of the module doc, capped by the bracket: the root lies in
    ``[min x, max x] + logit(q)/alpha`` whatever the rounding, so no error exceeds the
    bracket's width (plus the rounding of its ends). Where ``S`` underflows (cells far
    apart for ``alpha``: ``dm/dq`` is infinite) the root is that ill-conditioned."""
    m, _, dq, _ = derivatives(win.w, win.params, win.call)
    big_x = win.absw.max(axis=-1, initial=0.0)
    ends = win.u * (big_x + np.abs(m)) * (win.K + 16)
    real = np.broadcast_to(win.real, win.w.shape)
    width = np.where(real, win.w, -np.inf).max(axis=-1) - np.where(real, win.w, np.inf).min(axis=-1)
    bound = np.minimum((win.K + 16) * win.u * np.abs(dq) + ends, np.abs(width) + ends)
    return finite(bound) + win.tiny * (win.K + 2)


def quantile_forward(case, ref) -> Allowed:
    win = Windows(case)
    with np.errstate(all="ignore"):
        return Allowed.radius(ref, win.unbatch(_forward_bound(win)))


def quantile_partials(case, win: Windows) -> Partials:
    """Weights ``w_i = s_i / S`` are a softmax of ``log s_i``, whose slope in ``z_i`` is in
    ``[-1, 1]``; ``z_i = alpha (m - x_i)`` is off by ``alpha e_m + u (|z_i| + alpha (|m| +
    |x_i|))`` (``e_m`` the forward bound), so each weight and ``dm/dq = n/(alpha S)`` carry a
    relative error ``eps_w = 2 max_i dz_i + (K + 6) u``; ``dm/dalpha = (sum w_i x_i -
    m)/alpha`` is a difference, bounded absolutely."""
    u = win.u
    with np.errstate(all="ignore"):
        m, dx, dq, dalpha = derivatives(win.w, win.params, win.call)
        alpha = win.out(win.params[1])
        e_m = _forward_bound(win)
        mk = np.where(np.isfinite(m), m, 0.0)[..., None]
        ak = alpha[..., None]
        z = np.abs(ak * (mk - win.w))
        dz = ak * e_m[..., None] + u * (z + ak * (np.abs(mk) + win.absw))
        dz = np.where(win.real, dz, 0.0)
        eps_w = 2 * dz.max(axis=-1, initial=0.0) + (win.K + 6) * u
        dev = np.where(win.real, np.abs(win.w - mk), 0.0)
        d_alpha = (
            eps_w * (dx * dev).sum(-1)
            + e_m
            + (win.K + 2) * u * (dx * (win.absw + np.abs(mk))).sum(-1)
        ) / alpha + u * np.abs(dalpha)
        parts = [
            (np.abs(dx), eps_w[..., None] * np.abs(dx)),
            (np.abs(dq), (eps_w + 3 * u) * np.abs(dq)),
            (np.abs(dalpha), d_alpha),
        ]
    return Partials([(finite(a), finite(d)) for a, d in parts])


def _quantile_params(draw, caps, channels, dtype, purpose):
    q = st.one_of(st.sampled_from((0.5, 0.25, 0.75, 0.1, 0.9)), st.floats(0.1, 0.9))
    alpha = st.one_of(st.sampled_from((1.0, 2.0, 0.5, 3.0)), st.floats(0.5, 3.0))
    return (param(draw, caps, channels, dtype, q), param(draw, caps, channels, dtype, alpha))


def _quantile_scale(params, alpha):
    q, a = params
    return (q, a / alpha)  # m(alpha x; q, a / alpha) = alpha m(x; q, a): z is unchanged


QUANTILE_INVALID = (
    Invalid("C17", "q = 0", "q", at(0, np.array(0.0))),
    Invalid("C17", "q = 1", "q", at(0, np.array(1.0))),
    Invalid("C17", "q < 0", "q", at(0, np.array(-0.5))),
    Invalid("C17", "q NaN", "q", at(0, np.array(np.nan))),
    Invalid("C17", "alpha = 0", "alpha", at(1, np.array(0.0))),
    Invalid("C17", "alpha < 0", "alpha", at(1, np.array(-1.0))),
    Invalid("C17", "alpha = inf", "alpha", at(1, np.array(np.inf))),
    Invalid(
        "C12",
        "q of shape [C+1]",
        "per_channel",
        lambda d, c, n: {"param0": np.full(n + 1, 0.5)},  # valid values: only the shape breaks
    ),
)

QUANTILE_POOL = OpInfo(
    "quantile_pool",
    draw_params=_quantile_params,
    forward=quantile_forward,
    partials=quantile_partials,
    invalid=QUANTILE_INVALID,
    gradient_regimes=FINITE_REGIMES,
    monotone=True,
    monotone_slack=True,
    scale_params=_quantile_scale,
    magnitude_fraction=2.0**-10,
)
