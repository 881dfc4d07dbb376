"""Error bounds of the learnable and stochastic poolers (issue 6); derived in docs/tolerances.md.

Same conventions as :mod:`ndpool.conformance.tolerances` (``u`` = the target dtype's unit
roundoff plus float64's, ``tiny`` its smallest subnormal, ``K`` the window's real cells),
evaluated per output from the case's own numbers with the spec's own partials (the
spec's reducer internals on the case's windows, in float64):

- forward bounds ``forward_bound(case, ref) -> Allowed`` per error model:
  ``quantile``, ``softmax`` (soft pool, Gumbel eval), ``gem``, ``mixed``, ``gated``,
  ``tree``, ``ratio`` (stochastic eval), ``s3_eval``, and ``gumbel_select`` (Gumbel train:
  exact where the spec's selection margin exceeds the score rounding, else any near-best
  cell is accepted);
- derivative bounds from ``(|a|, delta_a)`` per input: the magnitude of every partial
  and an absolute bound on its error; a JVP / VJP sum of ``n`` terms adds ``(n + 1) u``.
"""

from __future__ import annotations

import math

import numpy as np

from ndpool import spec
from ndpool.spec import pooler_math as pm

from .cases import SMALLEST_SUBNORMAL, UNIT_ROUNDOFF, Case

U64 = 2.0**-53
#: the error models of this module (``gumbel_select`` is handled as a selection)
FORWARD_MODELS = ("quantile", "softmax", "gem", "mixed", "gated", "tree", "ratio", "s3_eval")


def unit(dtype: str) -> float:
    return UNIT_ROUNDOFF[dtype] + U64


class Reducer:
    """The spec's view of the case: windows ``w [N, C, *O, K]``, inputs in reducer layout."""

    def __init__(self, case: Case):
        self.case = case
        cfg = dict(case.cfg)
        with np.errstate(all="ignore"):
            self.call, self.w, self.params = case.record._setup(case.primals, cfg)
        self.real = np.broadcast_to(self.call.real, self.w.shape)
        self.n = self.real.sum(axis=-1).astype(np.float64)
        self.k = float(self.w.shape[-1])
        self.u = unit(case.dtype)
        self.tiny = SMALLEST_SUBNORMAL[case.dtype]
        self.absw = np.where(self.real, np.abs(self.w), 0.0)

    def out(self, a) -> np.ndarray:
        return np.broadcast_to(np.asarray(a, dtype=np.float64), self.w.shape[:-1])

    def cells(self, a) -> np.ndarray:
        return np.where(self.real, np.broadcast_to(a, self.w.shape), 0.0)

    def batch(self, a) -> np.ndarray:
        return np.asarray(a, dtype=np.float64) if self.case.batched else np.asarray(a)[None]

    def unbatch(self, a) -> np.ndarray:
        return a if self.case.batched else a[0]


def _finite(a) -> np.ndarray:
    """Bounds are finite numbers (a 0 * inf from an empty or non-finite window is 0; the
    reference is not finite there, and then the comparison is exact anyway)."""
    return np.nan_to_num(np.asarray(a, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)


# -- shared pieces ---------------------------------------------------------------------------
def _softmax_parts(r: Reducer):
    """Soft sample ``y~ = sum pi_i x_i``, ``pi = softmax(s)``: ``(pi, y~, dw, dT, T, eps_pi,
    e_y)`` with ``eps_pi`` the relative error of each weight and ``e_y`` that of ``y~``.

    A score ``s_i = x_i / T + g_i`` (soft pool: ``x_i``) formed in the target dtype is off by
    ``ds_i <= 2u (|x_i|/T + |g_i| + |s_i| + |m|)`` (division, rounding of ``g``, addition,
    the shift by the max ``m``); a weight ``e^(s_i - m) / sum_j e^(s_j - m)`` then has
    relative error ``ds_i + max_j ds_j + (K + 4) u`` (exp, the sum of ``K`` terms, division)."""
    from ndpool.spec.soft_pool import soft_sample

    case, w, u = r.case, r.w, r.u
    with np.errstate(all="ignore"):
        if case.op == "gumbel_pool":
            temperature, g = r.params
            t = r.out(temperature)
            s = w / t[..., None]
            noise = np.zeros_like(w)
            if case.cfg.get("mode", "train") == "train" and g is not None:
                s = s + g
                noise = np.abs(g)
        else:
            t = r.out(1.0)
            s = w
            noise = np.zeros_like(w)
        y, dw, dt = soft_sample(w, s, r.call.real, t)
        pi, _ = pm.masked_softmax(s, r.real)
        m = pm.masked_max(s, r.real)
        ds = 2 * u * (r.absw / t[..., None] + noise + np.abs(s) + np.abs(m)[..., None])
        ds = np.where(r.real & (pi > 0), ds, 0.0)
        eps_pi = ds + ds.max(axis=-1, initial=0.0)[..., None] + (r.k + 4) * u
        mass = np.where(pi > 0, pi * r.absw, 0.0)
        e_y = (mass * (eps_pi + (r.k + 1) * u)).sum(axis=-1) + u * np.abs(y)
        # a weight that underflows is off by up to tiny absolutely (not relatively)
        e_y = e_y + r.tiny * r.absw.sum(axis=-1)
    return pi, y, dw, dt, t, eps_pi, _finite(e_y)


def _max_mean(r: Reducer):
    from ndpool.spec.mixed_pool import _max_mean

    with np.errstate(all="ignore"):
        big_m, mean, hot, inv, n = _max_mean(r.w, r.call)
        abar = r.absw.sum(axis=-1) / np.maximum(n, 1)
    return big_m, mean, hot, inv, abar


def _gate(r: Reducer, omega):
    """``(g, dg)``: the gate ``sigma(omega . x)`` and its error ``g (1 - g) dz + 3u`` with
    ``dz = (K + 1) u sum |omega_i x_i|`` (a dot product of ``K`` terms)."""
    with np.errstate(all="ignore"):
        z = pm.masked_sum(r.w * omega, r.real)
        g = pm.sigmoid(z)
        dz = (r.k + 1) * r.u * np.where(r.real, np.abs(r.w * omega), 0.0).sum(axis=-1)
        return g, g * (1 - g) * dz + 3 * r.u, dz


def _blend_term(r: Reducer, g, dz, diff, d_diff):
    """Error of ``g (1 - g) D`` with ``D`` off by ``d_diff``: ``gp dD + |D| (gp dz + 4u)``
    (``d(g (1 - g))/dz = g (1 - g)(1 - 2g)``; a rounded ``g`` near 1 leaves ``1 - g`` with an
    absolute, not relative, error ``2u g``, so ``g (1 - g)`` is off by up to ``4u``) plus its
    own rounding."""
    gp = g * (1 - g)
    return gp * d_diff + np.abs(diff) * (gp * dz + 4 * r.u) + 2 * r.u * gp * np.abs(diff)


# -- forward -------------------------------------------------------------------------------
def forward_bound(case: Case, model: str, ref) -> np.ndarray | tuple:
    """The absolute bound per output (batched), or ``("alternatives", values)`` for
    ``gumbel_select``."""
    r = Reducer(case) if model != "s3_eval" else None
    if model == "s3_eval":
        return _s3_eval_bound(case)
    y = r.batch(ref)
    u, tiny = r.u, r.tiny
    with np.errstate(all="ignore"):
        if model == "quantile":
            return _quantile_forward(r, y)
        if model == "softmax":
            e_y = _softmax_parts(r)[-1]
            return e_y + tiny * (r.k + 2)
        if model == "gem":
            return _gem_forward(r, y)
        if model == "mixed":
            big_m, mean, _, _, abar = _max_mean(r)
            return (r.k + 6) * u * (np.abs(big_m) + abar) + u * np.abs(y) + tiny * (r.k + 2)
        if model == "gated":
            big_m, mean, _, _, abar = _max_mean(r)
            _, dg, _ = _gate(r, r.params[0])
            base = (r.k + 6) * u * (np.abs(big_m) + abar) + np.abs(big_m - mean) * dg
            return base + u * np.abs(y) + tiny * (r.k + 2)
        if model == "tree":
            v1, v2, omega = r.params
            a1, a2, d1, d2 = _leaves(r, v1, v2)
            _, dg, _ = _gate(r, omega)
            e = d1 + d2 + np.abs(a1 - a2) * dg + 2 * u * (np.abs(a1) + np.abs(a2))
            return e + u * np.abs(y) + tiny * (r.k + 2)
        if model == "ratio":
            return (2 * r.k + 4) * u * np.abs(y) + tiny * (r.k + 2)
    raise KeyError(f"no forward error model {model!r}")


def _leaves(r: Reducer, v1, v2):
    a1 = pm.masked_sum(r.w * v1, r.real)
    a2 = pm.masked_sum(r.w * v2, r.real)
    d1 = (r.k + 1) * r.u * np.where(r.real, np.abs(r.w * v1), 0.0).sum(axis=-1)
    d2 = (r.k + 1) * r.u * np.where(r.real, np.abs(r.w * v2), 0.0).sum(axis=-1)
    return a1, a2, d1, d2


def _quantile_forward(r: Reducer, y):
    """``(K + 16) u (dm/dq + X + |m|)``: the root is where ``F/S`` vanishes; ``F`` is a sum of
    ``n`` terms in ``[0, 1]`` minus ``n q``, off by ``(K + 6) u n``, which moves the root by
    that over ``alpha S`` = ``(K + 6) u dm/dq``; the scores ``alpha (m - x_i)`` are off by
    ``u alpha (|m| + |x_i|)``, which moves it by ``<= 2u (|m| + X)`` (weights ``s_i/S``)."""
    from ndpool.spec.quantile_pool import _derivatives

    m, _, dq, _ = _derivatives(r.w, r.params, r.call)
    big_x = r.absw.max(axis=-1, initial=0.0)
    return _finite((r.k + 16) * r.u * (np.abs(dq) + big_x + np.abs(m))) + r.tiny * (r.k + 2)


def _gem_eps(r: Reducer, p):
    """Relative error of a GeM partial ``(t_i / y)^(p - 1)`` (as for Lp, with the mean)."""
    return r.u * (np.abs(p - 1) * ((r.k + 2 * p + 8) / p + 3) + 3)


def _gem_forward(r: Reducer, y):
    """``|y| (eps_s / p + u (3 + ln K / p)) + tiny``: the mean of ``K`` positive terms
    ``(t_i / T)^p``, each with relative error ``(p + 2) u``, is off by
    ``eps_s = (K + 2p + 8) u`` relatively; the root ``^(1/p)`` divides that by ``p`` and adds
    a rounding, the rounded ``1/p`` (``|ln s| <= ln K``), the product by ``T`` and the final
    rounding add the rest."""
    (p,) = r.params
    p = r.out(p)
    eps_s = (r.k + 2 * p + 8) * r.u
    rel = eps_s / p + r.u * (3 + np.log(np.maximum(r.k, 1)) / p)
    return _finite(np.abs(y) * rel) + r.tiny * (r.k + 2)


def _s3_eval_bound(case: Case):
    """s3 eval is an average (kernel ``stride``) of stride-1 maxima ``m``: the ``sum`` bound
    with ``S`` = the same average of ``|m|`` and ``K`` = the average's cells ``prod(stride)``."""
    from ndpool.spec.avg_pool import AVG_POOL
    from ndpool.spec.max_pool import MAX_POOL

    u, tiny = unit(case.dtype), SMALLEST_SUBNORMAL[case.dtype]
    ks = math.prod(a["stride"] for a in spec.s3_layout(case.x.shape, **case.cfg))
    with np.errstate(all="ignore"):
        _, x, _, mp_cfg, ap_cfg = case.record._parts(case.primals, dict(case.cfg))
        m = np.abs(MAX_POOL.forward(x, **mp_cfg))  # |m|, the stride-1 maxima
        s = np.asarray(AVG_POOL.forward(m, **ap_cfg))
    s = s if case.batched else s[None]
    return _finite((ks + 2) * (u * s + tiny))


def gumbel_alternatives(case: Case) -> np.ndarray:
    """``[N, C, *O, K]``: the values a target may return in train mode (NaN-padded): the
    spec's pick, and any real cell whose score lies within the two scores' rounding of the
    best (``2u (|x_i|/T + |g_i| + |s_i|)`` each), i.e. where the selection margin does not
    exceed the score rounding of the dtype."""
    r = Reducer(case)
    temperature, g = r.params
    t = r.out(temperature)
    with np.errstate(all="ignore"):
        s = r.w / t[..., None] + g
        rnd = 2 * r.u * (r.absw / t[..., None] + np.abs(g) + np.abs(s))
        cand = np.where(r.real, s, -np.inf)
        from ndpool.spec.selection import first_maximizer

        sel = first_maximizer(s, r.call.real)
        best = np.take_along_axis(cand, np.maximum(sel, 0)[..., None], -1)
        best_r = np.take_along_axis(rnd, np.maximum(sel, 0)[..., None], -1)
        near = r.real & (cand >= best - best_r - rnd) & (sel >= 0)[..., None]
    return np.where(near, r.w, np.nan)


# -- derivatives ---------------------------------------------------------------------------
def partials(case: Case):
    """``[(|a|, delta_a) or None]`` per input (x first), in reducer layout: cells
    ``[N, C, *O, K]`` for x and window parameters, ``[N, C, *O]`` for channel parameters."""
    from .opinfo import model

    name = model(case, gradient=True)
    r = Reducer(case)
    u = r.u
    with np.errstate(all="ignore"):
        if name == "softmax":
            pi, y, dw, dt, t, eps_pi, e_y = _softmax_parts(r)
            tk = t[..., None]
            spread = 1 + (r.absw + np.abs(y)[..., None]) / tk
            d_x = pi * ((eps_pi + 3 * u) * spread + (e_y[..., None] + u * r.absw) / tk)
            d_x = d_x + r.tiny * spread  # an underflowing weight: tiny absolutely
            out = [(np.abs(dw), r.cells(d_x))]
            if case.op == "gumbel_pool":
                mass = np.where(pi > 0, pi * r.absw, 0.0)
                dev = r.absw + np.abs(y)[..., None]
                d_t = ((mass * ((eps_pi + 4 * u) * dev + e_y[..., None])).sum(-1)) / (t * t)
                d_t = d_t + (r.k + 2) * u * (mass * dev).sum(-1) / (t * t)
                d_t = d_t + r.tiny * (r.absw * dev).sum(-1) / (t * t)
                out += [(np.abs(dt), d_t), None]
            return _clean(out)
        if name == "quantile":
            return _clean(_quantile_partials(r))
        if name == "gem":
            from ndpool.spec.gem_pool import _partials as gem_partials
            from ndpool.spec.gem_pool import _parts

            dx, dp = gem_partials(r.w, r.params, r.call)
            p = r.out(r.params[0])
            eps = _gem_eps(r, p)[..., None]
            _, _, t, *_ = _parts(r.w, r.params, r.call)
            y = _parts(r.w, r.params, r.call)[7]
            ly = np.where(r.real & (t > 0), np.abs(np.log(t / np.abs(y)[..., None])), 0.0)
            d_p = (r.k + 2 * p + 8) * u * np.abs(y) / p * (ly.max(-1, initial=0.0) + 1)
            return _clean([(np.abs(dx), eps * np.abs(dx)), (np.abs(dp), d_p + u * np.abs(dp))])
        if name == "mixed":
            big_m, mean, hot, inv, abar = _max_mean(r)
            s = r.out(pm.sigmoid(r.params[0]))
            # 1 - s from a rounded s is off by 2u s absolutely (not relatively)
            a_x = s[..., None] * hot + (1 - s)[..., None] * inv
            sp = s * (1 - s)
            diff = big_m - mean
            d_a = sp * (r.k + 4) * u * (np.abs(big_m) + abar) + 4 * u * s * np.abs(diff)
            return _clean([(a_x, 3 * u * (hot + inv) + 2 * u * a_x), (sp * np.abs(diff), d_a)])
        if name == "gated":
            return _clean(_gated_partials(r))
        if name == "tree":
            return _clean(_tree_partials(r))
        if name == "ratio":
            from ndpool.spec.stochastic_pool import _eval_partials

            y, dx = _eval_partials(r.w, r.call)
            total = r.absw.sum(-1)
            safe = np.where(total > 0, total, 1.0)[..., None]
            e_y = (2 * r.k + 4) * u * np.abs(y)
            a_bar = (2 * r.absw + np.abs(y)[..., None]) / safe
            d_x = np.where(total[..., None] > 0, e_y[..., None] / safe + (r.k + 3) * u * a_bar, 0)
            return _clean([(np.abs(dx), r.cells(d_x)), None])
    raise KeyError(f"no derivative error model {name!r}")


def _clean(parts):
    return [None if p is None else (_finite(p[0]), _finite(p[1])) for p in parts]


def _quantile_partials(r: Reducer):
    """Weights ``w_i = s_i / S`` are a softmax of ``log s_i``, whose slope in ``z_i`` is in
    ``[-1, 1]``; ``z_i = alpha (m - x_i)`` is off by ``alpha e_m + u (|z_i| + alpha (|m| + |x_i|))``
    (``e_m`` the forward bound), so each weight and ``dm/dq = n/(alpha S)`` carry a relative
    error ``eps_w = 2 max_i dz_i + (K + 6) u``; ``dm/dalpha = (sum w_i x_i - m)/alpha`` is a
    difference, bounded absolutely."""
    from ndpool.spec.quantile_pool import _derivatives

    u = r.u
    m, dx, dq, dalpha = _derivatives(r.w, r.params, r.call)
    alpha = r.out(r.params[1])
    e_m = _quantile_forward(r, m)
    mk = np.where(np.isfinite(m), m, 0.0)[..., None]
    ak = alpha[..., None]
    z = np.abs(ak * (mk - r.w))
    dz = ak * e_m[..., None] + u * (z + ak * (np.abs(mk) + r.absw))
    dz = np.where(r.real, dz, 0.0)
    eps_w = 2 * dz.max(axis=-1, initial=0.0) + (r.k + 6) * u
    dev = np.where(r.real, np.abs(r.w - mk), 0.0)
    d_alpha = (
        eps_w * (dx * dev).sum(-1) + e_m + (r.k + 2) * u * (dx * (r.absw + np.abs(mk))).sum(-1)
    ) / alpha + u * np.abs(dalpha)
    return [
        (np.abs(dx), eps_w[..., None] * np.abs(dx)),
        (np.abs(dq), (eps_w + 3 * u) * np.abs(dq)),
        (np.abs(dalpha), d_alpha),
    ]


def _gated_partials(r: Reducer):
    u = r.u
    (omega,) = r.params
    big_m, mean, hot, inv, abar = _max_mean(r)
    g, dg, dz = _gate(r, omega)
    diff = big_m - mean
    d_diff = (r.k + 2) * u * (np.abs(big_m) + abar)
    gp = g * (1 - g)
    term = _blend_term(r, g, dz, diff, d_diff)[..., None]
    om = r.cells(np.abs(omega))
    a_x = r.cells(
        g[..., None] * hot + (1 - g)[..., None] * inv + gp[..., None] * diff[..., None] * omega
    )
    d_x = (hot + inv) * dg[..., None] + 3 * u * (g[..., None] * hot + (1 - g)[..., None] * inv)
    d_x = r.cells(d_x + om * term)
    a_om = r.cells(gp[..., None] * diff[..., None] * r.w)
    d_om = r.absw * term
    return [(np.abs(a_x), d_x), (np.abs(a_om), d_om)]


def _tree_partials(r: Reducer):
    u = r.u
    v1, v2, omega = r.params
    a1, a2, d1, d2 = _leaves(r, v1, v2)
    g, dg, dz = _gate(r, omega)
    diff = a1 - a2
    d_diff = d1 + d2 + u * np.abs(diff)
    gp = g * (1 - g)
    term = _blend_term(r, g, dz, diff, d_diff)[..., None]
    gk = g[..., None]
    a_x = r.cells(gk * v1 + (1 - gk) * v2 + gp[..., None] * diff[..., None] * omega)
    d_x = dg[..., None] * np.abs(v1 - v2) + 3 * u * (gk * np.abs(v1) + (1 - gk) * np.abs(v2))
    d_x = r.cells(d_x + np.abs(omega) * term)
    lead = r.absw * (dg[..., None] + u)
    return [
        (np.abs(a_x), d_x),
        (r.cells(gk * r.absw), lead),
        (r.cells((1 - gk) * r.absw), lead),
        (r.cells(gp[..., None] * np.abs(diff)[..., None] * r.absw), r.absw * term),
    ]


def _n_terms(case: Case, r: Reducer, parts) -> float:
    """Terms of one JVP output: ``K`` per cell-shaped input, one per channel input."""
    n = 0.0
    for s, p in zip(case.record.input_specs, parts):
        if p is not None:
            n += r.k if s.kind in ("x", "window") else 1.0
    return n


def jvp_bound(case: Case, tangents, ref_dot, differentiable) -> np.ndarray:
    """``sum_k |v_k| (delta_a_k + |a_k| (n + 1) u) + u |y_dot| + tiny (K + 2)`` (batched)."""
    r = Reducer(case)
    parts = partials(case)
    n = _n_terms(case, r, parts)
    u = r.u
    with np.errstate(all="ignore"):
        x_dot = np.abs(r.call.geometry.gather(r.batch(tangents[0]), fill=0))
        a, d = parts[0]
        bound = (x_dot * (d + a * (n + 1) * u)).sum(-1)
        for i, (s, p) in enumerate(zip(case.record.input_specs[1:], parts[1:])):
            if p is None or s.name not in differentiable or tangents[i + 1] is None:
                continue
            t = np.abs(np.asarray(tangents[i + 1], dtype=np.float64))
            a, d = p
            if s.kind == "window":
                shape = (1, t.shape[0] if t.ndim == 2 else 1) + (1,) * r.call.geometry.d
                tk = t.reshape(shape + (t.shape[-1],))
                bound = bound + (tk * (d + a * (n + 1) * u)).sum(-1)
            else:
                tc = t.reshape((1, -1) + (1,) * r.call.geometry.d) if t.ndim else t
                bound = bound + tc * (d + a * (n + 1) * u)
        bound = bound + u * np.abs(r.batch(ref_dot)) + r.tiny * (r.k + 2)
    return _finite(bound)


def vjp_bounds(case: Case, cotangent, differentiable) -> list:
    """Per input (x first): the bound of its cotangent (``None`` where not differentiable)."""
    r = Reducer(case)
    parts = partials(case)
    u = r.u
    geom = r.call.geometry
    yb = np.abs(r.batch(cotangent))
    out = []
    with np.errstate(all="ignore"):
        a, d = parts[0]
        terms = geom.scatter(np.broadcast_to(r.real, r.w.shape).astype(np.float64))
        contrib = a * yb[..., None]
        bx = geom.scatter(yb[..., None] * d + u * contrib) + (terms + 1) * u * geom.scatter(contrib)
        bx = bx + r.tiny * (terms + 2)
        out.append(_finite(r.unbatch(bx)))
        n_out = float(yb.size)
        for i, (s, p) in enumerate(zip(case.record.input_specs[1:], parts[1:])):
            primal = case.params[i]
            if p is None or primal is None or s.name not in differentiable:
                out.append(None)
                continue
            a, d = p
            shape = np.shape(primal)
            if s.kind == "window":
                per = yb[..., None] * (d + (n_out + 1) * u * a)
                keep = {1, per.ndim - 1} if len(shape) == 2 else {per.ndim - 1}
            else:
                per = np.broadcast_to(yb * (d + (n_out + 1) * u * a), yb.shape)
                keep = {1} if shape else set()
            axes = tuple(j for j in range(per.ndim) if j not in keep)
            b = np.asarray(per.sum(axis=axes)).reshape(shape) + r.tiny * (n_out + 2)
            out.append(_finite(b))
    return out


def s3_eval_jvp_bound(case: Case, tangents) -> np.ndarray:
    """s3 eval: ``y_dot = sum (1/D) m_dot[sel]`` over ``prod(stride)`` cells, partials
    ``1/D >= 0``: ``(K_s + 3) u`` times the spec's JVP along ``|x_dot|`` (= ``sum |a| |v|``)."""
    u = unit(case.dtype)
    ks = math.prod(a["stride"] for a in spec.s3_layout(case.x.shape, **case.cfg))
    with np.errstate(all="ignore"):
        _, mag = spec.jvp(case.op, case.primals, (np.abs(tangents[0]), None), **case.cfg)
    return _finite((ks + 3) * u * np.abs(mag) + SMALLEST_SUBNORMAL[case.dtype] * (ks + 2))


def s3_eval_vjp_bound(case: Case, cotangent) -> np.ndarray:
    """s3 eval: ``x_bar_j`` sums ``(1/D) y_bar`` over at most ``prod(kernel)`` stride-1 max
    windows (each max cell lies in one average window): ``(prod(kernel) + 4) u`` times the
    spec's VJP of ``|y_bar|``."""
    u = unit(case.dtype)
    kk = math.prod(a["kernel"] for a in spec.s3_layout(case.x.shape, **case.cfg))
    with np.errstate(all="ignore"):
        mag = spec.vjp(case.op, case.primals, np.abs(cotangent), **case.cfg)[0]
    return _finite((kk + 4) * u * np.abs(mag) + SMALLEST_SUBNORMAL[case.dtype] * (kk + 2))
