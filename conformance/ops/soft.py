"""SoftPool, and the soft sample it shares with Gumbel pooling: ``sum_i pi_i x_i`` with
``pi = softmax(s)``.

A score ``s_i = x_i / T + g_i`` (soft pool: ``x_i``) formed in the target dtype is off by
``ds_i <= 2u (|x_i|/T + |g_i| + |s_i| + |m|)`` (division, rounding of ``g``, addition,
the shift by the max ``m``); a weight ``e^(s_i - m) / sum_j e^(s_j - m)`` then has
relative error ``ds_i + max_j ds_j + (K + 4) u`` (exp, the sum of ``K`` terms, division).
SoftPool is neither monotone nor homogeneous (the weights see x itself).
"""

from __future__ import annotations

import numpy as np

from ndpool.spec import numeric as nm
from ndpool.spec.soft import soft_sample

from ..record import FINITE_REGIMES, OpInfo, train
from ..tolerances import Allowed, Partials, Windows, finite


def softmax_parts(case, win: Windows):
    """``(pi, y~, dw, dT, T, eps_pi, e_y)``: the weights, the soft sample and its
    partials, the temperature per output, each weight's relative error and the error of
    ``y~`` (the module doc)."""
    u, w = win.u, win.w
    with np.errstate(all="ignore"):
        noise = np.zeros_like(w)
        if case.op == "soft_pool":
            t = win.out(1.0)
            s = w
        else:
            temperature, g = win.params
            t = win.out(temperature)
            s = w / t[..., None]
            if train(case.cfg) and g is not None:
                s = s + g
                noise = np.abs(g)
        y, dw, dt = soft_sample(w, s, win.call.real, t)
        pi, _ = nm.masked_softmax(s, win.real)
        m = nm.masked_max(s, win.real)
        ds = 2 * u * (win.absw / t[..., None] + noise + np.abs(s) + np.abs(m)[..., None])
        ds = np.where(win.real & (pi > 0), ds, 0.0)
        eps_pi = ds + ds.max(axis=-1, initial=0.0)[..., None] + (win.K + 4) * u
        mass = np.where(pi > 0, pi * win.absw, 0.0)
        e_y = (mass * (eps_pi + (win.K + 1) * u)).sum(axis=-1) + u * np.abs(y)
        # a weight that underflows is off by up to tiny absolutely (not relatively)
        e_y = e_y + win.tiny * win.absw.sum(axis=-1)
    return pi, y, dw, dt, t, eps_pi, finite(e_y)


def softmax_forward(case, ref) -> Allowed:
    win = Windows(case)
    e_y = softmax_parts(case, win)[-1]
    return Allowed.radius(ref, win.unbatch(e_y + win.tiny * (win.K + 2)))


def softmax_partials(case, win: Windows) -> Partials:
    u = win.u
    pi, y, dw, dt, t, eps_pi, e_y = softmax_parts(case, win)
    with np.errstate(all="ignore"):
        tk = t[..., None]
        spread = 1 + (win.absw + np.abs(y)[..., None]) / tk
        d_x = pi * ((eps_pi + 3 * u) * spread + (e_y[..., None] + u * win.absw) / tk)
        d_x = d_x + win.tiny * spread  # an underflowing weight: tiny absolutely
        parts = [(finite(np.abs(dw)), finite(win.cells(d_x)))]
        if case.op != "soft_pool":  # the temperature's derivative; the noise has none
            mass = np.where(pi > 0, pi * win.absw, 0.0)
            dev = win.absw + np.abs(y)[..., None]
            d_t = ((mass * ((eps_pi + 4 * u) * dev + e_y[..., None])).sum(-1)) / (t * t)
            d_t = d_t + (win.K + 2) * u * (mass * dev).sum(-1) / (t * t)
            d_t = d_t + win.tiny * (win.absw * dev).sum(-1) / (t * t)
            parts += [(finite(np.abs(dt)), finite(d_t)), None]
    return Partials(parts)


SOFT_POOL = OpInfo(
    "soft_pool",
    forward=softmax_forward,
    partials=softmax_partials,
    gradient_regimes=FINITE_REGIMES,
    scale_params=None,
    magnitude_fraction=2.0**-10,
)
