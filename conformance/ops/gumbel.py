"""Gumbel-softmax pooling: train picks the first argmax of ``x / T + g`` (exact where the
spec's selection margin exceeds the score rounding, else any near-best cell is
accepted), with straight-through derivatives (the soft sample's); eval is the soft
sample at ``g = 0``."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ndpool.spec.selection import first_maximizer

from ..record import (
    FINITE_REGIMES,
    MODE_INVALID,
    Invalid,
    OpInfo,
    at,
    mode_options,
    param,
    param_shape,
    sample,
    train,
)
from ..tolerances import Allowed, Windows
from .soft import softmax_forward, softmax_partials


def gumbel_alternatives(case) -> np.ndarray:
    """``[N, C, *O, K]``: the values a target may return in train mode (NaN-padded): the
    spec's pick, and any real cell whose score lies within the two scores' rounding of the
    best (``2u (|x_i|/T + |g_i| + |s_i|)`` each), i.e. where the selection margin does not
    exceed the score rounding of the dtype."""
    win = Windows(case)
    temperature, g = win.params
    t = win.out(temperature)
    with np.errstate(all="ignore"):
        s = win.w / t[..., None] + g
        rnd = 2 * win.u * (win.absw / t[..., None] + np.abs(g) + np.abs(s))
        cand = np.where(win.real, s, -np.inf)
        sel = first_maximizer(s, win.call.real)
        best = np.take_along_axis(cand, np.maximum(sel, 0)[..., None], -1)
        best_r = np.take_along_axis(rnd, np.maximum(sel, 0)[..., None], -1)
        near = win.real & (cand >= best - best_r - rnd) & (sel >= 0)[..., None]
    return win.unbatch(np.where(near, win.w, np.nan))


def _forward(case, ref) -> Allowed:
    if not train(case.cfg):
        return softmax_forward(case, ref)
    allowed = Allowed.radius(ref, 0.0, exact=True)
    allowed.alternatives = gumbel_alternatives(case)
    return allowed


def _params(draw, caps, channels, dtype, purpose):
    t = st.one_of(st.sampled_from((1.0, 0.5, 2.0)), st.floats(0.5, 2.0))
    temperature = param(draw, caps, channels, dtype, t)
    if not train(purpose["cfg"]):
        return (temperature, None)
    return (temperature, sample("gumbel_pool", 2, draw, purpose))


def _scale(params, alpha):
    temperature, g = params
    return (temperature * alpha, g)  # the scores x / T are unchanged


GUMBEL_INVALID = (
    Invalid("C19", "temperature = 0", "temperature", at(0, np.array(0.0))),
    Invalid("C19", "temperature < 0", "temperature", at(0, np.array(-1.0))),
    Invalid("C19", "temperature = inf", "temperature", at(0, np.array(np.inf))),
    Invalid("C19", "temperature NaN", "temperature", at(0, np.array(np.nan))),
    Invalid("C12", "temperature of shape [C+1]", "per_channel", param_shape),
    Invalid(
        "C16", "no noise g in train mode", "g", lambda d, c, n: {"mode": "train", "param1": None}
    ),
    MODE_INVALID,
)

GUMBEL_POOL = OpInfo(
    "gumbel_pool",
    draw_params=_params,
    draw_options=mode_options,
    forward=_forward,
    selects=train,
    partials=softmax_partials,
    invalid=GUMBEL_INVALID,
    gradient_regimes=FINITE_REGIMES,
    scale_params=_scale,
    magnitude_fraction=2.0**-10,
)
