"""Lp pooling: ``(rho sum_i t_i^p)^(1/p)`` (docs/tolerances.md derives the bounds); ``rho``
is 1, ``K / n`` (``partial_window="rescaled"``) or ``1 / n`` (``reduction="mean"``)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import strategies as st

from ndpool.spec.selection import first_maximizer

from ..cases import Case
from ..record import (
    FINITE_REGIMES,
    Invalid,
    OpInfo,
    choose,
    conventions,
    param,
    param_shape,
    param_value,
)
from ..tolerances import Allowed, Partials, Windows, param_partials, spec_value


def lp_forward(case, ref) -> Allowed:
    """The scaled sum ``s = sum (t_i / M)^p`` (``M = max |t_i|``) is off by
    ``E <= (n + 6) u sum |t_i / M|^p + n tiny``
    (``partial_window="rescaled"``: times ``rho = K / n_extent``; ``reduction="mean"``: times
    ``rho = 1 / n``; two more roundings);
    ``y = s^(1/p)`` is monotone in ``s``, so ``y^`` lies between ``(s - E)^(1/p)`` and
    ``(s + E)^(1/p)`` (times ``M``), widened by ``u |y| (3 + |log y|)`` for the root and
    the rounded ``1/p``. The bound scales by ``max |t_i|`` (the spec by a power of two
    near it): a target that forms ``t_i^p`` unscaled loses windows whose powers leave the
    dtype's range (the spec's value is finite there). ``p = inf`` is exact."""
    win = Windows(case)
    u, tiny = win.u, win.tiny
    p = win.param(0)
    signed = case.cfg.get("sign", "abs") == "signed"
    y = win.batch(ref)
    with np.errstate(all="ignore"):
        real = win.real
        t = win.w if signed else np.abs(win.w)
        m = np.where(real, np.abs(win.w), 0).max(axis=-1)
        safe_m = np.where((m == 0) | ~np.isfinite(m), 1.0, m)
        r = np.where(real, t / safe_m[..., None], 0.0)
        pk = p[..., None]
        rp = np.where(real, np.power(r, pk), 0.0)
        big_t = np.where(real, np.power(np.abs(r), pk), 0.0).sum(axis=-1)
        s = rp.sum(axis=-1)
        # a power that underflows in the scaled form loses at most one subnormal unit
        under = win.n * tiny
        # partial_window="rescaled": the sum times rho = K / n (a division, a product)
        rho, extra = _rho(case, win)
        s, big_t, under = rho * s, rho * big_t, rho * under
        e = (win.n + 6 + extra) * u * big_t + under
        inv = 1.0 / p
        integer_root = inv == np.round(inv)

        def f(v):
            return safe_m * np.power(v, inv)

        touches_zero = np.where(s + e >= 0, f(np.maximum(s - e, 0)), np.nan)
        cands = [f(s - e), f(s + e), touches_zero, f(s)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanmin(np.stack(cands), axis=0)
            hi = np.nanmax(np.stack(cands), axis=0)
        nan_ok = (s - e < 0) & ~integer_root
        widen = u * np.abs(y) * (3 + np.abs(np.log(np.where(y == 0, 1, np.abs(y)))))
        widen = np.nan_to_num(widen, nan=0.0, posinf=0.0) + tiny
        lo, hi = lo - widen, hi + widen
        zero = m == 0
        lo = np.where(zero, -tiny, lo)
        hi = np.where(zero, tiny, hi)
        inf_p = np.isinf(p) & np.ones_like(y, bool)
        lo = np.where(inf_p, y, lo)
        hi = np.where(inf_p, y, hi)
        nan_ok = nan_ok & ~inf_p & ~zero
        # windows holding inf / nan: no interval, the value must match exactly
        nonfinite = ~np.isfinite(m)
        lo = np.where(nonfinite, np.nan, lo)
        hi = np.where(nonfinite, np.nan, hi)
        nan_ok = nan_ok & ~nonfinite
    return Allowed(win.unbatch(lo), win.unbatch(hi), win.unbatch(nan_ok))


def _rho(case: Case, win: Windows):
    """``(rho [*O], extra roundings)``: ``lp_pool(partial_window="rescaled")`` scales the
    power sum by ``rho = K / n`` (``n`` window cells inside the padded extent; computed as
    ``K * (sum / n)``, two more roundings), ``reduction="mean"`` by ``1 / n`` (``n`` the
    real cells, or those inside the padded extent for "rescaled"; a division or a
    reciprocal and a product); ``(1, 0)`` for the plain sum."""
    rescaled = case.cfg.get("partial_window", "sum") == "rescaled"
    mean = case.cfg.get("reduction", "sum") == "mean"
    if not rescaled and not mean:
        return np.ones(win.in_extent.shape[:-1]), 0
    cells = win.in_extent if rescaled else win.call.real
    n = np.maximum(cells.sum(axis=-1), 1)
    return (1.0 if mean else win.in_extent.shape[-1]) / n, 2


def lp_partials(case, win: Windows) -> Partials:
    """``dy/dx_i = rho s_i (t_i / y)^(p-1)`` with a relative error
    ``u (|p - 1| ((n + 6) / p + 3) + max(|p - 1|, 1) |log y| + 3) + |p - 1| (tiny / |y| +
    tiny / |t_i|)`` (the power sum; the root, with its rounded ``1/p`` as
    :func:`lp_forward` allows it, entering ``p - 1`` times or once by how the partial is
    formed; the ratio and the power; a subnormal ``y`` or ``t_i`` is off by ``tiny``);
    ``dy/dp``: its magnitude from the spec, off by ``(n + 8) (u |y| + tiny) / p (max |log t|
    + |log y| + 1)``. ``p = inf`` selects: the winner's sign, exactly."""
    u = win.u
    w, real = win.w, win.real
    n = win.n[..., None]
    y = win.batch(spec_value(case))
    with np.errstate(all="ignore"):
        p = win.param(0)[..., None]
        yk = y[..., None]
        rho, extra = _rho(case, win)  # partial_window="rescaled": partials carry rho
        ratio = np.where(real & (w != 0) & (yk != 0), np.abs(w) / np.abs(yk), 0.0)
        # a value that overflows (finite cells) keeps finite ratios t_i / y: formed in
        # units of the power of two M above the window's largest |t|, as the spec forms them
        top = np.where(real & np.isfinite(w), np.abs(w), 0.0).max(axis=-1, keepdims=True)
        big = np.isinf(yk) & np.isfinite(top) & (top > 0)
        m = np.where(big, np.ldexp(1.0, np.frexp(np.where(big, top, 1.0))[1]), 1.0)
        scaled = np.where(real, np.abs(w) / m, 0.0)
        norm = (rho[..., None] * np.power(scaled, p).sum(axis=-1, keepdims=True)) ** (1 / p)
        ratio = np.where(big & real & (w != 0), scaled / norm, ratio)
        mag = np.where(ratio > 0, np.power(ratio, p - 1), 0.0)
        # p = 1 is sum pooling: partial s_i = 1 at every real cell under sign="signed"
        # (zero cells and zero windows included), sign(x_i) under "abs"
        signed = case.cfg.get("sign", "abs") == "signed"
        linear = real & (p == 1) & (signed | (w != 0))
        mag = np.where(linear, 1.0, mag)
        mag = mag * rho[..., None]
        # the root's own error, u (3 + |log y|) as in lp_forward (a rounded 1/p moves
        # y^(1/p) by |log y| of it), enters a partial p - 1 times (formed as (t / y)^(p-1))
        # or once (formed as y t^(p-1) / sum t^p, the chain rule's order): the larger
        ly_k = np.abs(np.log(np.where((yk == 0) | ~np.isfinite(yk), 1, np.abs(yk))))
        root = np.maximum(np.abs(p - 1), 1) * ly_k
        eps = u * (np.abs(p - 1) * ((n + 6 + extra) / p + 3) + root + 3 + extra)
        # a subnormal y or t carries an absolute error of tiny, a relative one of tiny / |y|
        # (tiny / |t|), into the ratio t / y and so p - 1 times into its power
        rel = np.where(ratio > 0, win.tiny / np.abs(yk) + win.tiny / np.abs(w), 0.0)
        eps = eps + np.abs(p - 1) * np.nan_to_num(rel, nan=0.0, posinf=0.0)
        if np.isinf(p).any():
            sel = first_maximizer(np.abs(w), win.call.real)
            hot = (np.arange(w.shape[-1]) == sel[..., None]).astype(np.float64)
            mag = np.where(np.isinf(p), hot, mag)
            eps = np.where(np.isinf(p), 0.0, eps)
        eps = np.broadcast_to(eps, w.shape)
        p = win.param(0)
        logs = np.where(real & (w != 0), np.abs(np.log(np.abs(w))), 0.0).max(axis=-1)
        ly = np.abs(np.log(np.where(y == 0, 1, np.abs(y))))
        bound = (win.n + 8) * (u * np.abs(y) + win.tiny) / p * (logs + ly + 1)
        bound = np.where(np.isinf(p), 0.0, bound)
    return Partials([(mag, eps * mag), (param_partials(case, win), bound)])


def _lp_params(draw, caps, channels, dtype, purpose):
    signed = purpose.get("sign") == "signed"
    finite = st.one_of(
        st.sampled_from((1.0, 2.0, 3.0, 0.5, 1.5, 4.0)),
        st.floats(0.25, 8.0),
        # near 1 (either side), large, and around the spec's LARGE_P switch
        st.sampled_from((1 + 2.0**-10, 1 - 2.0**-11, 64.0, 968.0, 970.0, 1000.0)),
    )
    values = finite if signed or purpose.get("finite_p") else st.one_of(finite, st.just(np.inf))
    return (param(draw, caps, channels, dtype, values),)


def _lp_options(draw, caps, purpose):
    out = conventions("lp_pool", draw, caps)
    if caps.config_keys is None or "reduction" in caps.config_keys:
        out["reduction"] = choose(draw, caps, "reduction", ("sum", "mean"))
    if caps.config_keys is not None and "sign" not in caps.config_keys:
        return out
    return {"sign": choose(draw, caps, "sign", ("abs", "signed")), **out}


LP_INVALID = (
    Invalid("C10", "norm_type = 0", "norm_type", param_value(0.0)),
    Invalid("C10", "norm_type < 0", "norm_type", param_value(-2.0)),
    Invalid("C10", "norm_type NaN", "norm_type", param_value(np.nan)),
    Invalid(
        "C10",
        "norm_type = inf with sign='signed'",
        "sign",
        lambda draw, caps, c: {"param0": np.array(np.inf), "sign": "signed"},
    ),
    Invalid("C12", "norm_type of shape [C+1]", "per_channel", param_shape),
    Invalid("C14", "sign='negative'", "sign", lambda draw, caps, c: {"sign": "negative"}),
    Invalid("C14", "reduction='max'", "reduction", lambda draw, caps, c: {"reduction": "max"}),
)

LP_POOL = OpInfo(
    "lp_pool",
    draw_params=_lp_params,
    draw_options=_lp_options,
    forward=lp_forward,
    partials=lp_partials,
    invalid=LP_INVALID,
    gradient_regimes=FINITE_REGIMES,
)
