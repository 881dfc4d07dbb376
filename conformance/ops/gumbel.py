"""Gumbel-softmax pooling: train picks the first argmax of ``x / T + g`` (exact where the
spec's selection margin exceeds the score rounding, else any near-best cell is
accepted), with straight-through derivatives (``estimator="hard"``: the one-hot plus
``pi_j (x_j - y~) / T``, bounded as the soft sample's partials, and off by the one-hot
itself at the near-best cells where the pick is ambiguous; ``"soft"``: the soft
sample's); eval is the soft sample at ``g = 0``."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ndpool import spec
from ndpool.spec.selection import first_maximizer

from ..record import (
    FINITE_REGIMES,
    MODE_INVALID,
    Invalid,
    OpInfo,
    at,
    choose,
    mode_options,
    param,
    param_shape,
    position_shape,
    sample,
    train,
)
from ..tolerances import Allowed, Partials, Windows, finite
from .soft import softmax_forward, softmax_partials, softmax_parts


def near_best(win: Windows) -> np.ndarray:
    """``[N, C, *O, K]``: the spec's pick, and any real cell whose score lies within the two
    scores' rounding of the best (``2u (|x_i|/T + |g_i| + |s_i|)`` each), i.e. where the
    selection margin does not exceed the score rounding of the dtype."""
    temperature, g = win.params
    t = win.out(temperature)
    with np.errstate(all="ignore"):
        s = win.w / t[..., None] + g
        rnd = 2 * win.u * (win.absw / t[..., None] + np.abs(g) + np.abs(s))
        cand = np.where(win.real, s, -np.inf)
        sel = first_maximizer(s, win.call.real)
        best = np.take_along_axis(cand, np.maximum(sel, 0)[..., None], -1)
        best_r = np.take_along_axis(rnd, np.maximum(sel, 0)[..., None], -1)
        return win.real & (cand >= best - best_r - rnd) & (sel >= 0)[..., None]


def gumbel_alternatives(case) -> np.ndarray:
    """``[N, C, *O, K]``: the values a target may return in train mode (NaN-padded): those
    of the :func:`near_best` cells."""
    win = Windows(case)
    return win.unbatch(np.where(near_best(win), win.w, np.nan))


def _partials(case, win: Windows) -> Partials:
    """The soft sample's partials; for the hard estimator in train mode ``dy/dx_j`` is
    ``h_j + pi_j (x_j - y~) / T`` (the soft one with ``pi_j`` traded for ``h_j``: within
    the soft bound), and where the pick is ambiguous the one-hot may sit at any near-best
    cell."""
    parts = softmax_partials(case, win)
    if not train(case.cfg) or case.cfg.get("estimator", "hard") != "hard":
        return parts
    pi, _, dw, *_ = softmax_parts(case, win)
    with np.errstate(all="ignore"):
        temperature, g = win.params
        sel = first_maximizer(win.w / win.out(temperature)[..., None] + g, win.call.real)
        hot = np.arange(win.w.shape[-1]) == sel[..., None]
        dw = np.where(win.real, dw - pi + hot, 0.0)
        near = near_best(win)
        ambiguous = near & (near.sum(axis=-1) >= 2)[..., None]
    (_, d_x), *rest = parts.inputs
    parts.inputs = [(finite(np.abs(dw)), d_x + ambiguous), *rest]
    return parts


def _options(draw, caps, purpose) -> dict:
    """``mode``, and in train mode the straight-through ``estimator``."""
    out = mode_options(draw, caps, purpose)
    if not train(out) or (caps.config_keys is not None and "estimator" not in caps.config_keys):
        return out
    return {**out, "estimator": choose(draw, caps, "estimator", ("hard", "soft"))}


def _forward(case, ref) -> Allowed:
    if not train(case.cfg):
        return softmax_forward(case, ref)
    allowed = Allowed.radius(ref, 0.0, exact=True)
    allowed.alternatives = gumbel_alternatives(case)
    return allowed


def _params(draw, caps, channels, dtype, purpose):
    t = st.one_of(st.sampled_from((1.0, 0.5, 2.0)), st.floats(0.5, 2.0))
    geometry = spec.OPS["gumbel_pool"].geometry(tuple(purpose["x_shape"]), **purpose["cfg"])
    temperature = param(draw, caps, channels, dtype, t, positions=geometry.spatial_out)
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
    Invalid("C12", "temperature of shape [C+1, 1]", "per_position", position_shape),
    Invalid(
        "C16", "no noise g in train mode", "g", lambda d, c, n: {"mode": "train", "param1": None}
    ),
    MODE_INVALID,
    Invalid("C14", "estimator='gradient'", "estimator", lambda d, c, n: {"estimator": "gradient"}),
)

GUMBEL_POOL = OpInfo(
    "gumbel_pool",
    draw_params=_params,
    draw_options=_options,
    forward=_forward,
    selects=train,
    partials=_partials,
    invalid=GUMBEL_INVALID,
    gradient_regimes=FINITE_REGIMES,
    scale_params=_scale,
    magnitude_fraction=2.0**-10,
)
