"""Mixed, gated and tree pooling: learned blends ``g P + (1 - g) Q``.

Forward: the statistics (max, mean over ``n`` real cells, or the leaf dot products) are
off by ``(K + 6) u`` of their magnitudes; the gate ``sigma(omega . x + b)`` by
``g (1 - g) dz + 3u`` with ``dz = (K + 2) u (sum |omega_i x_i| + |b|)`` (a dot product of
``K`` terms and the bias), which moves the blend by ``|P - Q|`` times that. Mixed pooling
is monotone (its weights are non-negative); gated and tree are not (the gate and the leaf
filters see x with either sign).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ndpool.spec import numeric as nm
from ndpool.spec.blends import max_and_mean

from ..record import FINITE_REGIMES, Invalid, OpInfo, param, param_shape, window_param, window_shape
from ..tolerances import Allowed, Partials, Windows, finite


def _max_mean(win: Windows):
    with np.errstate(all="ignore"):
        big_m, mean, hot, inv, n = max_and_mean(win.w, win.call)
        abar = win.absw.sum(axis=-1) / np.maximum(n, 1)
    return big_m, mean, hot, inv, abar


def _gate(win: Windows, omega, bias=None):
    """``(g, dg, dz)``: the gate ``sigma(omega . x + b)``, its error ``g (1 - g) dz + 3u``
    and the error ``dz = (K + 2) u (sum |omega_i x_i| + |b|)`` of its argument."""
    z = nm.masked_sum(win.w * omega, win.real)
    spread = np.where(win.real, np.abs(win.w * omega), 0.0).sum(axis=-1)
    if bias is not None:
        z = z + bias
        spread = spread + np.abs(bias)
    g = nm.sigmoid(z)
    dz = (win.K + 2) * win.u * spread
    return g, g * (1 - g) * dz + 3 * win.u, dz


def _leaves(win: Windows, v1, v2):
    a1 = nm.masked_sum(win.w * v1, win.real)
    a2 = nm.masked_sum(win.w * v2, win.real)
    d1 = (win.K + 1) * win.u * np.where(win.real, np.abs(win.w * v1), 0.0).sum(axis=-1)
    d2 = (win.K + 1) * win.u * np.where(win.real, np.abs(win.w * v2), 0.0).sum(axis=-1)
    return a1, a2, d1, d2


def _blend_term(win: Windows, g, dz, diff, d_diff):
    """Error of ``g (1 - g) D`` with ``D`` off by ``d_diff``: ``gp dD + |D| (gp dz + 4u)``
    (``d(g (1 - g))/dz = g (1 - g)(1 - 2g)``; a rounded ``g`` near 1 leaves ``1 - g`` with an
    absolute, not relative, error ``2u g``, so ``g (1 - g)`` is off by up to ``4u``) plus its
    own rounding."""
    gp = g * (1 - g)
    return gp * d_diff + np.abs(diff) * (gp * dz + 4 * win.u) + 2 * win.u * gp * np.abs(diff)


def _allowed(case, ref, bound) -> Allowed:
    win = Windows(case)
    y = win.batch(ref)
    with np.errstate(all="ignore"):
        b = bound(win) + win.u * np.abs(y) + win.tiny * (win.K + 2)
    return Allowed.radius(ref, win.unbatch(finite(b)))


# -- mixed ----------------------------------------------------------------------------------
def _mixed_forward(case, ref) -> Allowed:
    def bound(win):
        big_m, _, _, _, abar = _max_mean(win)
        return (win.K + 6) * win.u * (np.abs(big_m) + abar)

    return _allowed(case, ref, bound)


def _mixed_partials(case, win: Windows) -> Partials:
    u = win.u
    with np.errstate(all="ignore"):
        big_m, mean, hot, inv, abar = _max_mean(win)
        s = win.out(nm.sigmoid(win.params[0]))
        # 1 - s from a rounded s is off by 2u s absolutely (not relatively)
        a_x = s[..., None] * hot + (1 - s)[..., None] * inv
        sp = s * (1 - s)
        diff = big_m - mean
        d_a = sp * (win.K + 4) * u * (np.abs(big_m) + abar) + 4 * u * s * np.abs(diff)
        parts = [(a_x, 3 * u * (hot + inv) + 2 * u * a_x), (sp * np.abs(diff), d_a)]
    return Partials([(finite(a), finite(d)) for a, d in parts])


def _mixed_params(draw, caps, channels, dtype, purpose):
    a = st.one_of(st.sampled_from((0.0, 1.0, -1.0)), st.floats(-4.0, 4.0))
    return (param(draw, caps, channels, dtype, a),)


MIXED_POOL = OpInfo(
    "mixed_pool",
    draw_params=_mixed_params,
    forward=_mixed_forward,
    partials=_mixed_partials,
    invalid=(Invalid("C12", "a of shape [C+1]", "per_channel", param_shape),),
    gradient_regimes=FINITE_REGIMES,
    monotone=True,
    monotone_slack=True,
    magnitude_fraction=2.0**-10,
)


# -- gated ----------------------------------------------------------------------------------
def _gated_forward(case, ref) -> Allowed:
    def bound(win):
        big_m, mean, _, _, abar = _max_mean(win)
        _, dg, _ = _gate(win, *win.params)
        return (win.K + 6) * win.u * (np.abs(big_m) + abar) + np.abs(big_m - mean) * dg

    return _allowed(case, ref, bound)


def _gated_partials(case, win: Windows) -> Partials:
    u = win.u
    omega, bias = win.params
    with np.errstate(all="ignore"):
        big_m, mean, hot, inv, abar = _max_mean(win)
        g, dg, dz = _gate(win, omega, bias)
        diff = big_m - mean
        d_diff = (win.K + 2) * u * (np.abs(big_m) + abar)
        gp = g * (1 - g)
        term = _blend_term(win, g, dz, diff, d_diff)[..., None]
        om = win.cells(np.abs(omega))
        blend = g[..., None] * hot + (1 - g)[..., None] * inv
        a_x = win.cells(blend + gp[..., None] * diff[..., None] * omega)
        d_x = (hot + inv) * dg[..., None] + 3 * u * blend
        d_x = win.cells(d_x + om * term)
        a_om = win.cells(gp[..., None] * diff[..., None] * win.w)
        # dy/db = g (1 - g)(M - A): the blend term's error, per output
        parts = [
            (np.abs(a_x), d_x),
            (np.abs(a_om), win.absw * term),
            (gp * np.abs(diff), term[..., 0]),
        ]
    return Partials([(finite(a), finite(d)) for a, d in parts])


def _gate_values(rng, shape):
    return 0.5 * rng.standard_normal(shape)


def _gated_params(draw, caps, channels, dtype, purpose):
    omega = window_param(draw, caps, channels, dtype, purpose, _gate_values)
    if draw(st.booleans()):  # the optional bias: absent, or per layer / per channel
        return (omega, None)
    bias = st.one_of(st.sampled_from((0.0, 0.5, -1.0)), st.floats(-2.0, 2.0))
    return (omega, param(draw, caps, channels, dtype, bias))


def _gated_scale(params, alpha):
    omega, bias = params
    return (omega / alpha, bias)  # the gate sees omega . x + b unchanged


def _bias_shape(draw, caps, channels):
    """The gate's bias of shape ``[C + 1]`` (C12)."""
    return {"param1": np.ones(channels + 1, dtype=np.float64)}


GATED_POOL = OpInfo(
    "gated_pool",
    draw_params=_gated_params,
    forward=_gated_forward,
    partials=_gated_partials,
    invalid=(
        Invalid("C15", "omega of shape [..., K+1]", "omega", window_shape(0)),
        Invalid("C12", "bias of shape [C+1]", "per_channel", _bias_shape),
    ),
    forward_regimes=FINITE_REGIMES,
    gradient_regimes=FINITE_REGIMES,
    scale_params=_gated_scale,
    magnitude_fraction=2.0**-10,
)


# -- tree -----------------------------------------------------------------------------------
def _tree_forward(case, ref) -> Allowed:
    def bound(win):
        v1, v2, omega = win.params
        a1, a2, d1, d2 = _leaves(win, v1, v2)
        _, dg, _ = _gate(win, omega)
        return d1 + d2 + np.abs(a1 - a2) * dg + 2 * win.u * (np.abs(a1) + np.abs(a2))

    return _allowed(case, ref, bound)


def _tree_partials(case, win: Windows) -> Partials:
    u = win.u
    v1, v2, omega = win.params
    with np.errstate(all="ignore"):
        a1, a2, d1, d2 = _leaves(win, v1, v2)
        g, dg, dz = _gate(win, omega)
        diff = a1 - a2
        d_diff = d1 + d2 + u * np.abs(diff)
        gp = g * (1 - g)
        term = _blend_term(win, g, dz, diff, d_diff)[..., None]
        gk = g[..., None]
        a_x = win.cells(gk * v1 + (1 - gk) * v2 + gp[..., None] * diff[..., None] * omega)
        d_x = dg[..., None] * np.abs(v1 - v2) + 3 * u * (gk * np.abs(v1) + (1 - gk) * np.abs(v2))
        d_x = win.cells(d_x + np.abs(omega) * term)
        lead = win.absw * (dg[..., None] + u)
        parts = [
            (np.abs(a_x), d_x),
            (win.cells(gk * win.absw), lead),
            (win.cells((1 - gk) * win.absw), lead),
            (win.cells(gp[..., None] * np.abs(diff)[..., None] * win.absw), win.absw * term),
        ]
    return Partials([(finite(a), finite(d)) for a, d in parts])


def _tree_params(draw, caps, channels, dtype, purpose):
    k = max(purpose["k"], 1)

    def leaf(rng, shape):
        return rng.standard_normal(shape) / k

    return (
        window_param(draw, caps, channels, dtype, purpose, leaf),
        window_param(draw, caps, channels, dtype, purpose, leaf),
        window_param(draw, caps, channels, dtype, purpose, _gate_values),
    )


def _tree_scale(params, alpha):
    v1, v2, omega = params
    return (v1, v2, omega / alpha)


TREE_POOL = OpInfo(
    "tree_pool",
    draw_params=_tree_params,
    forward=_tree_forward,
    partials=_tree_partials,
    invalid=(
        Invalid("C15", "v1 of shape [..., K+1]", "v1", window_shape(0)),
        Invalid("C15", "omega of shape [..., K+1]", "omega", window_shape(2)),
    ),
    forward_regimes=FINITE_REGIMES,
    gradient_regimes=FINITE_REGIMES,
    scale_params=_tree_scale,
    magnitude_fraction=2.0**-10,
)
