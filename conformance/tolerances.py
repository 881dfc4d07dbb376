"""Error bounds per op and dtype, and the comparison that uses them.

Every bound is derived in docs/tolerances.md; this module is that derivation as
code. The reference is the spec evaluated in float64 on the case's values (which
are exact in the target's dtype). ``u`` below is the target dtype's unit roundoff
plus float64's (the reference rounds too). ``K`` is the number of real cells of
a window. Bounds are per output element and are *allowed intervals*
``[lo, hi]`` plus a mask where NaN is acceptable (a rounding error can flip the
sign of a sum under a fractional power).

- ``exact`` (max, adaptive max): the target must return the spec's value bit for
  bit, including the sign of zero.
- ``sum`` (avg, adaptive avg): ``|y^ - y| <= (K + 2) u S + (K + 2) tiny`` with
  ``S = sum |x_i| / |D|`` (K - 1 additions, a reciprocal, a product, the final
  rounding; ``tiny`` the dtype's smallest subnormal covers gradual underflow).
- ``lp``: the sum ``s = sum t_i^p`` is computed with error
  ``E <= (K + 6) u sum |t_i|^p + K tiny`` (``partial_window="rescaled"``: ``s``, the
  sum of magnitudes and ``K tiny`` times ``rho = K_full / n``, two more roundings);
  ``y = s^(1/p)`` is monotone in ``s``, so
  ``y^`` lies between ``(s - E)^(1/p)`` and ``(s + E)^(1/p)``, widened by
  ``u |y| (3 + |log y|)`` for the root and the rounded ``1/p``. Evaluated in the scaled
  form ``t_i / max|t|`` so nothing overflows. ``p = inf`` is exact.
- ``logsumexp`` (smooth max): ``|y^ - y| <= u ((K + 3)/beta + 2 sum_i w_i (|x_i| + |m|) +
  3 |y| + |m|) + tiny`` with the softmax weights ``w_i`` and the window max ``m`` (the
  exponent ``beta x_i - beta m`` may be formed from separately rounded products).

Derivatives (JVP ``sum_k a_k x_dot_k``, VJP ``x_bar_j = sum a_k y_bar``) are bounded by
``sum |a_k| |v_k| (eps_k + (n + 1) u)`` with ``n`` the number of terms summed and
``eps_k`` the relative error of the partial ``a_k`` (0 for selections, 2u for
``1/D``, and op-specific terms for Lp and smooth max).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ndpool import spec
from ndpool.spec.selection import first_maximizer

from . import pooler_tolerances as pt
from .cases import LARGEST, SMALLEST_SUBNORMAL, UNIT_ROUNDOFF, Case
from .opinfo import OP_INFO
from .opinfo import model as error_model_of

U64 = 2.0**-53
MANTISSA_BITS = {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}


def unit(dtype: str) -> float:
    return UNIT_ROUNDOFF[dtype] + U64


@dataclass
class Allowed:
    """Per element: the target's value must lie in ``[lo, hi]``, equal ``ref``, or be NaN
    where ``nan_ok``."""

    lo: np.ndarray
    hi: np.ndarray
    nan_ok: np.ndarray
    exact: bool = False
    #: ``[..., J]`` further values accepted exactly (NaN-padded), e.g. Gumbel's near-best cells
    alternatives: np.ndarray | None = None

    @classmethod
    def radius(cls, ref, bound, exact: bool = False) -> Allowed:
        ref = np.asarray(ref, dtype=np.float64)
        bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), ref.shape)
        bound = np.where(np.isfinite(ref), np.nan_to_num(bound, nan=0.0, posinf=0.0), 0.0)
        with np.errstate(invalid="ignore"):
            return cls(ref - bound, ref + bound, np.zeros(ref.shape, bool), exact)

    @property
    def radius_of(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.nan_to_num((self.hi - self.lo) / 2, nan=0.0)


def mismatches(got: np.ndarray, ref: np.ndarray, allowed: Allowed, dtype: str) -> np.ndarray:
    """Boolean mask of elements where ``got`` breaks the bound."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        both_nan = np.isnan(got) & np.isnan(ref)
        nan_ok = np.isnan(got) & allowed.nan_ok
        equal = got == ref
        if allowed.exact:
            equal &= np.signbit(got) == np.signbit(ref)
            if allowed.alternatives is not None:
                alt = allowed.alternatives
                g = got[..., None]
                equal |= ((g == alt) & (np.signbit(g) == np.signbit(alt))).any(axis=-1)
            return ~(both_nan | equal)
        within = (got >= allowed.lo) & (got <= allowed.hi)
        top = LARGEST[dtype] * (1 + UNIT_ROUNDOFF[dtype])
        overflow_ok = (
            np.isinf(got)
            & np.isfinite(ref)
            & (np.sign(got) == np.sign(ref))
            & (np.maximum(np.abs(allowed.lo), np.abs(allowed.hi)) >= top)
        )
    return ~(both_nan | nan_ok | equal | within | overflow_ok)


def ulp_errors(got: np.ndarray, ref: np.ndarray, dtype: str) -> np.ndarray:
    """``|got - ref|`` in units in the last place of ``ref`` in ``dtype`` (finite pairs)."""
    got = np.asarray(got, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    ok = np.isfinite(got) & np.isfinite(ref)
    got, ref = got[ok], ref[ok]
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.where(ref == 0, 1, np.abs(ref))))
    ulp = np.maximum(2.0 ** (e - MANTISSA_BITS[dtype]), SMALLEST_SUBNORMAL[dtype])
    return np.abs(got - ref) / ulp


def ulp_histogram(got, ref, dtype: str) -> str:
    errs = ulp_errors(got, ref, dtype)
    if errs.size == 0:
        return "ULP error histogram: no finite pairs"
    edges = [(0, 0, "0"), (0, 1, "(0,1]"), (1, 2, "(1,2]"), (2, 4, "(2,4]"), (4, 16, "(4,16]")]
    edges += [(16, 256, "(16,256]"), (256, np.inf, ">256")]
    parts = []
    for lo, hi, label in edges:
        n = int(((errs == 0) if hi == 0 else (errs > lo) & (errs <= hi)).sum())
        parts.append(f"{label}: {n}")
    return f"ULP error histogram ({dtype}, {errs.size} finite values): " + ", ".join(parts)


# -- geometry access ------------------------------------------------------------------------
def geometry(case: Case) -> spec.Geometry:
    record = case.record
    spatial = case.x.shape[-case.d :]
    if record.adaptive:
        return spec.adaptive_geometry(spatial, output_size=case.cfg["output_size"])
    keys = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    return spec.sliding_geometry(spatial, **{k: case.cfg[k] for k in keys if k in case.cfg})


def batch(a: np.ndarray, case: Case) -> np.ndarray:
    return np.asarray(a) if case.batched else np.asarray(a)[None]


def unbatch(a: np.ndarray, case: Case) -> np.ndarray:
    return a if case.batched else a[0]


class Windows:
    """The case's windows, float64: ``w [N, C, *O, K]``, ``real``/``in_extent`` ``[*O, K]``."""

    def __init__(self, case: Case):
        self.case = case
        self.geom = geometry(case)
        self.real = self.geom.real
        self.in_extent = self.geom.in_extent
        self.w = self.gather(case.x)
        self.k = self.real.sum(axis=-1).astype(np.float64)  # [*O]

    def gather(self, a: np.ndarray) -> np.ndarray:
        return self.geom.gather(batch(np.asarray(a, dtype=np.float64), self.case), fill=0)

    def scatter(self, a: np.ndarray) -> np.ndarray:
        return unbatch(self.geom.scatter(a), self.case)

    def param(self, i: int) -> np.ndarray:
        """Extra input ``i`` broadcast to ``[1, C, 1...]`` (output shape)."""
        p = np.asarray(self.case.params[i], dtype=np.float64)
        return p.reshape((1, -1) + (1,) * self.geom.d) if p.ndim else p

    def output(self, y) -> np.ndarray:
        return batch(np.asarray(y, dtype=np.float64), self.case)


def _spec_value(case: Case, x=None) -> np.ndarray:
    c = case if x is None else case.with_x(x, return_indices=False)
    out = c.spec_forward()
    return np.asarray(out[0] if c.return_indices else out, dtype=np.float64)


# -- forward ------------------------------------------------------------------------------
def forward_allowed(case: Case, ref: np.ndarray) -> Allowed:
    model = error_model_of(case)
    u = unit(case.dtype)
    tiny = SMALLEST_SUBNORMAL[case.dtype]
    if model == "exact":
        return Allowed.radius(ref, 0.0, exact=True)
    if model == "gumbel_select":
        allowed = Allowed.radius(ref, 0.0, exact=True)
        allowed.alternatives = unbatch(pt.gumbel_alternatives(case), case)
        return allowed
    if model in pt.FORWARD_MODELS:
        return Allowed.radius(ref, unbatch(pt.forward_bound(case, model, ref), case))
    win = Windows(case)
    if model == "sum":
        s = np.abs(_spec_value(case, np.abs(case.x)))
        bound = (unbatch(np.broadcast_to(win.k, win.w.shape[:-1]), case) + 2) * (u * s + tiny)
        return Allowed.radius(ref, bound)
    if model == "lp":
        return _lp_allowed(case, win, ref, u, tiny)
    if model == "logsumexp":
        y = win.output(ref)
        beta = win.param(0)
        present = win.in_extent if case.cfg.get("padding_policy") == "zero" else win.real
        with np.errstate(all="ignore"):
            bound = _logsumexp_bound(win, y, beta, present, u) + tiny
        return Allowed.radius(ref, unbatch(bound, case))
    raise KeyError(f"no forward error model {model!r}")


def _logsumexp_bound(win, y, beta, present, u):
    """``u ((K + 3)/beta + 2 sum_i w_i (|x_i| + |m|) + 3 |y| + |m|)`` (see the module doc)."""
    with np.errstate(all="ignore"):
        cand = np.where(present, win.w, -np.inf)
        m = cand.max(axis=-1)
        wts = np.where(present, np.exp(beta[..., None] * (cand - y[..., None])), 0.0)
        spread = np.where(
            present & (wts > 0), wts * (np.abs(win.w) + np.abs(m[..., None])), 0.0
        ).sum(axis=-1)
        return u * ((win.k + 3) / beta + 2 * spread + 3 * np.abs(y) + np.abs(m))


def _lp_allowed(case, win, ref, u, tiny) -> Allowed:
    p = win.param(0)
    signed = case.cfg.get("sign", "abs") == "signed"
    y = win.output(ref)
    with np.errstate(all="ignore"):
        real = np.broadcast_to(win.real, win.w.shape)
        t = win.w if signed else np.abs(win.w)
        m = np.where(real, np.abs(win.w), 0).max(axis=-1)
        safe_m = np.where((m == 0) | ~np.isfinite(m), 1.0, m)
        r = np.where(real, t / safe_m[..., None], 0.0)
        pk = p[..., None]
        rp = np.where(real, np.power(r, pk), 0.0)
        big_t = np.where(real, np.power(np.abs(r), pk), 0.0).sum(axis=-1)
        s = rp.sum(axis=-1)
        under = win.k * np.exp(np.log(tiny) - p * np.log(safe_m))
        # partial_window="rescaled": the sum times rho = K / n (a division, a product)
        rho, extra = _lp_rho(case, win)
        s, big_t, under = rho * s, rho * big_t, rho * under
        e = (win.k + 6 + extra) * u * big_t + under
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
    return Allowed(unbatch(lo, case), unbatch(hi, case), unbatch(nan_ok, case))


def _lp_rho(case: Case, win: Windows):
    """``(rho [*O], extra roundings)``: ``lp_pool(partial_window="rescaled")`` scales the
    power sum by ``rho = K / n`` (``n`` window cells inside the padded extent; computed as
    ``K * (sum / n)``, two more roundings); ``(1, 0)`` for ``"sum"``."""
    if case.cfg.get("partial_window", "sum") != "rescaled":
        return np.ones(win.in_extent.shape[:-1]), 0
    return win.in_extent.shape[-1] / win.in_extent.sum(axis=-1), 2


# -- derivatives ------------------------------------------------------------------------------
def partial_magnitudes(case: Case, win: Windows, y: np.ndarray):
    """``(|a| [N, C, *O, K], eps [N, C, *O, K])``: magnitudes of the partials dy/dx and
    their relative error, per the op's error model."""
    model = error_model_of(case, gradient=True)
    u = unit(case.dtype)
    w, real = win.w, np.broadcast_to(win.real, win.w.shape)
    k = win.k[..., None]
    with np.errstate(all="ignore"):
        if model == "exact":
            sel = first_maximizer(w, win.real)
            hot = (np.arange(w.shape[-1]) == sel[..., None]).astype(np.float64)
            return hot, np.zeros_like(hot)
        if model == "sum":
            ones = np.ones_like(case.x)
            per_cell = np.abs(_spec_value(case, ones))  # K / |D|
            per_cell = batch(per_cell, case)[..., None] / np.where(k == 0, 1, k)
            return np.where(real, per_cell, 0.0), np.full(w.shape, 2 * u)
        if model == "lp":
            p = win.param(0)[..., None]
            yk = y[..., None]
            ratio = np.where(real & (w != 0) & (yk != 0), np.abs(w) / np.abs(yk), 0.0)
            mag = np.where(ratio > 0, np.power(ratio, p - 1), 0.0)
            # p = 1 is sum pooling: partial s_i = 1 at every real cell under sign="signed"
            # (zero cells and zero windows included), sign(x_i) under "abs"
            signed = case.cfg.get("sign", "abs") == "signed"
            linear = real & (p == 1) & (signed | (w != 0))
            mag = np.where(linear, 1.0, mag)
            rho, extra = _lp_rho(case, win)  # partial_window="rescaled": partials carry rho
            mag = mag * rho[..., None]
            eps = u * (np.abs(p - 1) * ((k + 6 + extra) / p + 3) + 3 + extra)
            if np.isinf(p).any():
                sel = first_maximizer(np.abs(w), win.real)
                hot = (np.arange(w.shape[-1]) == sel[..., None]).astype(np.float64)
                mag = np.where(np.isinf(p), hot, mag)
                eps = np.where(np.isinf(p), 0.0, eps)
            return mag, np.broadcast_to(eps, w.shape)
        if model == "logsumexp":
            _, wts, eps = _softmax_weights(case, win, y, u)
            mag = np.where(real, wts, 0.0)
            return mag, np.where(real & (mag > 0), eps, 0.0)
    raise KeyError(f"no derivative error model {model!r}")


def param_partial_bound(case: Case, win: Windows, y: np.ndarray) -> np.ndarray:
    """Absolute error bound of dy/d(param) per output (``[N, C, *O]``), and its magnitude."""
    model = error_model_of(case, gradient=True)
    u = unit(case.dtype)
    w, real = win.w, np.broadcast_to(win.real, win.w.shape)
    with np.errstate(all="ignore"):
        if model == "lp":
            p = win.param(0)
            logs = np.where(real & (w != 0), np.abs(np.log(np.abs(w))), 0.0).max(axis=-1)
            ly = np.abs(np.log(np.where(y == 0, 1, np.abs(y))))
            b = (win.k + 8) * u * np.abs(y) / p * (logs + ly + 1)
            return np.where(np.isinf(p), 0.0, b)
        if model == "logsumexp":
            # dy/dbeta = sum_i w_i (x_i - y) / beta: each term off by its weight's relative
            # error eps_i (the partials' own) plus (K + 8) u for the differences, the sum
            # and the division, and by w_i B_y for the error B_y of y itself (the forward
            # bound; it may exceed |y|, e.g. log(1 + e^-16) in float32); the terms may
            # cancel, so the bound is on their magnitudes
            present, wts, eps = _softmax_weights(case, win, y, u)
            b_y = _logsumexp_bound(win, y, win.param(0), present, u)[..., None]
            per = wts * (
                (np.abs(w) + np.abs(y[..., None])) * (eps + (win.k[..., None] + 8) * u) + b_y
            )
            return np.where(present & (wts > 0), per, 0.0).sum(axis=-1) / win.param(0)
    return np.zeros_like(y)


def _softmax_weights(case: Case, win: Windows, y: np.ndarray, u: float):
    """Smooth max: ``(present [.., K], w_i = exp(beta (x_i - y)), eps_i)`` with ``eps_i``
    the relative error of ``w_i``: the exponent ``beta x_i - beta y`` is off by
    ``u 2 beta (|x_i| + |y|)`` plus ``beta`` times the error of ``y``, the exp adds 4u."""
    beta = win.param(0)[..., None]
    yk = y[..., None]
    present = win.in_extent if case.cfg.get("padding_policy") == "zero" else win.real
    present = np.broadcast_to(present, win.w.shape)
    with np.errstate(all="ignore"):
        wts = np.where(present, np.exp(beta * (win.w - yk)), 0.0)
        by = beta * _logsumexp_bound(win, y, win.param(0), present, u)[..., None]
        eps = by + u * (2 * beta * (np.abs(win.w) + np.abs(yk)) + 4)
    return present, wts, eps


def jvp_allowed(case: Case, tangents, ref_dot: np.ndarray, differentiable) -> Allowed:
    """The allowed JVP output: ``sum |a| |x_dot| (eps + (K + 1) u)`` + the param term."""
    model = error_model_of(case, gradient=True)
    if model == "exact":  # a selection: the tangent is copied
        return Allowed.radius(ref_dot, 0, exact=True)
    if model == "s3_eval":
        return Allowed.radius(ref_dot, pt.s3_eval_jvp_bound(case, tangents))
    if model in pt.FORWARD_MODELS:
        bound = pt.jvp_bound(case, tangents, ref_dot, differentiable)
        return Allowed.radius(ref_dot, unbatch(bound, case))
    u = unit(case.dtype)
    win = Windows(case)
    y = win.output(_spec_value(case))
    mag, eps = partial_magnitudes(case, win, y)
    xd = np.abs(win.gather(tangents[0]))
    k = win.k[..., None]
    with np.errstate(all="ignore"):
        bound = (mag * xd * (eps + (k + 1) * u)).sum(axis=-1)
        dy = np.abs(win.output(ref_dot))
        for i, name in enumerate(case.record.inputs[1:]):
            if name in differentiable:
                pd = np.abs(np.asarray(tangents[i + 1], dtype=np.float64))
                pd = pd.reshape((1, -1) + (1,) * win.geom.d) if pd.ndim else pd
                bound = bound + param_partial_bound(case, win, y) * pd + 2 * u * dy
        # underflowed partials: a subnormal unit times |x_dot| per term, one per rounding
        under = np.where(np.broadcast_to(win.real, xd.shape), xd, 0.0).sum(axis=-1)
        bound = bound + SMALLEST_SUBNORMAL[case.dtype] * (win.k + 2 + under)
    return Allowed.radius(unbatch(win.output(ref_dot), case)[()], unbatch(bound, case))


def vjp_allowed(case: Case, cotangent, ref_bars, differentiable) -> list[Allowed | None]:
    model = error_model_of(case, gradient=True)
    if model == "s3_eval" or (model == "exact" and not OP_INFO[case.op].sliding_windows):
        return _composition_vjp_allowed(case, cotangent, ref_bars, model)
    if model in pt.FORWARD_MODELS:
        bounds = pt.vjp_bounds(case, cotangent, differentiable)
        return [
            None if b is None or ref is None else Allowed.radius(ref, b)
            for b, ref in zip(bounds, ref_bars)
        ]
    u = unit(case.dtype)
    win = Windows(case)
    y = win.output(_spec_value(case))
    yb = np.abs(batch(np.asarray(cotangent, dtype=np.float64), case))[..., None]
    tiny = SMALLEST_SUBNORMAL[case.dtype]
    with np.errstate(all="ignore"):
        terms = win.scatter(np.broadcast_to(win.real, win.w.shape).astype(np.float64))
        if model == "exact":
            # a selection op: the partials are 0/1 where the spec selects, so the sum of
            # |y_bar| over the selecting windows is the spec's own VJP of |y_bar|
            picked = spec.vjp(case.op, case.primals, np.abs(cotangent), **case.cfg)[0]
            bound = (terms + 1) * u * np.abs(np.nan_to_num(picked))
        else:
            mag, eps = partial_magnitudes(case, win, y)
            contrib = mag * yb
            bound = win.scatter(contrib * eps) + (terms + 1) * u * win.scatter(contrib)
        # a partial (or a factor of it) that underflows is off by up to a subnormal unit
        # before the product with y_bar: tiny |y_bar| per term, then one per rounding;
        # smooth max's chain rule (y = lse(beta x) / beta) rounds y_bar w / beta and only
        # then multiplies by beta: beta more units per term
        real = np.broadcast_to(win.real, win.w.shape)
        under = win.scatter(np.where(real, np.broadcast_to(yb, win.w.shape), 0.0))
        units = real.astype(np.float64)
        if model == "logsumexp":
            units = units * (1 + win.param(0)[..., None])
        bound = bound + tiny * (win.scatter(units) + 2 + under)
    out: list[Allowed | None] = [Allowed.radius(ref_bars[0], bound)]
    for i, name in enumerate(case.record.inputs[1:]):
        if name not in differentiable:
            out.append(None)
            continue
        pb = param_partial_bound(case, win, y)
        ybar = np.abs(batch(np.asarray(cotangent, dtype=np.float64), case))
        with np.errstate(all="ignore"):
            n_terms = ybar.size
            per = pb * ybar + (n_terms + 1) * u * np.abs(ybar) * _param_partial(case, win, y)
            per = np.where(ybar == 0, 0.0, per)  # a zero cotangent adds nothing (spec rule)
            shape = np.shape(case.params[i])
            axes = tuple(a for a in range(per.ndim) if not (shape and a == 1))
            b = per.sum(axis=axes).reshape(shape) + tiny * (n_terms + 2)
        out.append(Allowed.radius(ref_bars[i + 1], b))
    return out


def _composition_vjp_allowed(case: Case, cotangent, ref_bars, model) -> list[Allowed | None]:
    """s3_pool: train scatters each kept row's cotangent through stride-1 max pooling (a
    selection), so ``x_bar_j`` is a sum of at most ``prod(kernel)`` cotangents; eval adds
    the average's ``1/D`` (see ``pooler_tolerances.s3_eval_vjp_bound``)."""
    if model == "s3_eval":
        bound = pt.s3_eval_vjp_bound(case, cotangent)
    else:
        u = unit(case.dtype)
        kk = np.prod([a["kernel"] for a in spec.s3_layout(case.x.shape, **case.cfg)])
        with np.errstate(all="ignore"):
            picked = spec.vjp(case.op, case.primals, np.abs(cotangent), **case.cfg)[0]
        bound = (kk + 1) * u * np.abs(np.nan_to_num(picked))
        bound = bound + SMALLEST_SUBNORMAL[case.dtype] * (kk + 2)
    return [Allowed.radius(ref_bars[0], bound)] + [None] * (len(ref_bars) - 1)


def _param_partial(case: Case, win: Windows, y: np.ndarray) -> np.ndarray:
    """|dy/d(param)| per output, from the spec's own JVP with a unit parameter tangent."""
    tangents = (np.zeros_like(case.x),) + tuple(np.ones_like(p) for p in case.params)
    with np.errstate(all="ignore"):
        _, dot = spec.jvp(case.op, case.primals, tangents, **case.cfg)
    return np.abs(win.output(dot))


def adjoint_bound(case: Case, tangents, cotangent, differentiable, jvp_ref, vjp_refs) -> float:
    """``|<JVP(v), u> - <v, VJP(u)>|`` allowed for the target: both sides' errors."""
    ja = jvp_allowed(case, tangents, jvp_ref, differentiable)
    va = vjp_allowed(case, cotangent, vjp_refs, differentiable)

    def dot0(t, b):  # |t * b| with 0 * anything = 0 (the spec's zero-tangent convention)
        t = np.abs(np.asarray(t, dtype=np.float64))
        with np.errstate(invalid="ignore"):
            return float(np.sum(np.where(t == 0, 0.0, t * np.abs(np.asarray(b, np.float64)))))

    total = dot0(cotangent, ja.radius_of)
    dots = dot0(cotangent, jvp_ref)
    for t, a, ref in zip(tangents, va, vjp_refs):
        if a is None:
            continue
        total += dot0(t, a.radius_of)
        dots += dot0(t, ref)
    n = np.size(cotangent) + sum(np.size(t) for t in tangents)
    return total + 2 * (n + 1) * U64 * dots + SMALLEST_SUBNORMAL[case.dtype] * n
