"""How a target's numbers are compared with the spec's: allowed intervals, and the error
bounds every op's record builds them from.

Every bound is derived in docs/tolerances.md; each op's record
(:mod:`ndpool.conformance.ops`) holds its own forward bound and the magnitudes of its
partials, and this module holds what they share. The reference is the spec evaluated in
float64 on the case's values (which are exact in the target's dtype). ``u`` is the
target dtype's unit roundoff plus float64's (the reference rounds too), ``tiny`` the
dtype's smallest subnormal, ``K`` the number of cells of a window, ``n`` the number of
its real cells. Bounds are per output element and are *allowed intervals* ``[lo, hi]``
plus a mask where NaN is acceptable (a rounding error can flip the sign of a sum under a
fractional power).

Derivatives: a JVP output is ``sum_k a_k v_k`` and a VJP cotangent
``x_bar_j = sum a_k y_bar``, with partials ``a_k`` that a target computes with an
absolute error ``delta_k`` (the op's record gives ``(|a|, delta)`` per input,
:class:`Partials`); the sum of ``m`` terms adds ``(m + 1) u`` of the sum of magnitudes,
and every term may be off by a subnormal unit where a partial (or a factor of it)
underflows. Selections (max and the other exact ops) copy the tangent (compared exactly)
and add cotangents (:func:`selection_vjp_bound`).

Integer dtypes (max pooling only) are compared exactly: the ops that take them select, and
an integer dtype has no rounding (``UNIT_ROUNDOFF`` 0, an ulp of 1 in the histograms);
they have no derivatives, so no derivative bound applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ndpool import spec

from .cases import INTEGER_DTYPES, LARGEST, SMALLEST_SUBNORMAL, UNIT_ROUNDOFF, Case

U64 = 2.0**-53
MANTISSA_BITS = {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}
# an integer dtype's ulp is 1 (ulp_errors: max(2**(e - 64), 1) = 1 for every value drawn)
MANTISSA_BITS.update({name: 64 for name in INTEGER_DTYPES})


def unit(dtype: str) -> float:
    return UNIT_ROUNDOFF[dtype] + U64


def finite(a) -> np.ndarray:
    """Bounds are finite numbers (a 0 * inf from an empty or non-finite window is 0; the
    reference is not finite there, and then the comparison is exact anyway)."""
    return np.nan_to_num(np.asarray(a, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def _magnitude(a) -> np.ndarray:
    """A sum of term magnitudes: infinite where it overflows float64, 0 where undefined."""
    return np.nan_to_num(np.asarray(a, dtype=np.float64), nan=0.0, posinf=np.inf)


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
    #: where ``+-inf`` is accepted whatever the reference (an overflowing derivative sum)
    inf_ok: np.ndarray | bool = False

    @classmethod
    def radius(cls, ref, bound, exact: bool = False) -> Allowed:
        ref = np.asarray(ref, dtype=np.float64)
        bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), ref.shape)
        bound = np.where(np.isfinite(ref), np.nan_to_num(bound, nan=0.0, posinf=0.0), 0.0)
        with np.errstate(invalid="ignore"):
            return cls(ref - bound, ref + bound, np.zeros(ref.shape, bool), exact)

    @classmethod
    def sum_of_terms(cls, ref, bound, magnitude, dtype: str) -> Allowed:
        """:meth:`radius` for a derivative, a sum of terms ``y_bar_k a_k`` (or ``a_k v_k``)
        whose magnitudes add up to ``magnitude``. Where that passes the dtype's largest
        finite value, the dtype's arithmetic (which the bounds model) may overflow on the
        way -- a term itself, or a partial sum, either way -- so ``+-inf`` and NaN
        (``inf - inf``) are accepted there besides the bound."""
        out = cls.radius(ref, bound)
        with np.errstate(invalid="ignore"):
            ref = np.asarray(ref, dtype=np.float64)
            magnitude = np.broadcast_to(np.asarray(magnitude, dtype=np.float64), ref.shape)
            out.nan_ok = out.inf_ok = magnitude > LARGEST[dtype]
        return out

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
    inf_ok = np.isinf(got) & allowed.inf_ok
    return ~(both_nan | nan_ok | equal | within | overflow_ok | inf_ok)


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


# -- the case's windows, as the spec's reducer sees them ---------------------------------------
def geometry(case: Case) -> spec.Geometry:
    """The case's windows (of its input; an op with a stage: of the stage's output)."""
    return case.record.geometry(case.x.shape, **case.cfg)


class Windows:
    """The case's windows and inputs in the spec reducer's layout (float64): ``w [N, C, *O,
    K]``, ``params``, ``call`` (``call.real`` / ``call.in_extent`` are ``[*O, K]``), with
    ``real`` broadcast to ``w``, ``n`` the real cells of every window ``[N, C, *O]``, ``K``
    the window's cells, ``u`` and ``tiny`` of the case's dtype, ``absw = |w|`` on real
    cells."""

    def __init__(self, case: Case):
        self.case = case
        with np.errstate(all="ignore"):
            self.call, self.w, self.params = case.record.gather(case.primals, **case.cfg)
        self.geom = self.call.geometry
        self.real = np.broadcast_to(self.call.real, self.w.shape)
        self.in_extent = self.call.in_extent
        self.n = self.real.sum(axis=-1).astype(np.float64)
        self.K = float(self.w.shape[-1])
        self.u = unit(case.dtype)
        self.tiny = SMALLEST_SUBNORMAL[case.dtype]
        self.absw = np.where(self.real, np.abs(self.w), 0.0)

    def batch(self, a) -> np.ndarray:
        return self.call.batch(np.asarray(a, dtype=np.float64))

    def unbatch(self, a) -> np.ndarray:
        return self.call.unbatch(a)

    def out(self, a) -> np.ndarray:
        """``a`` broadcast to the output ``[N, C, *O]``."""
        return np.broadcast_to(np.asarray(a, dtype=np.float64), self.w.shape[:-1])

    def cells(self, a) -> np.ndarray:
        """``a`` broadcast to the windows, 0 off the real cells."""
        return np.where(self.real, np.broadcast_to(a, self.w.shape), 0.0)

    def gather(self, a) -> np.ndarray:
        """The windows of another input-shaped array (a tangent)."""
        return self.geom.gather(self.batch(a), fill=0)

    def scatter(self, a) -> np.ndarray:
        """``[N, C, *O, K] -> `` the input's layout (the adjoint of gather)."""
        return self.unbatch(self.geom.scatter(a))

    def param(self, i: int) -> np.ndarray:
        """Parameter ``i`` (after x) in float64, ``()`` or ``[1, C, 1, ..., 1]``."""
        return np.asarray(self.params[i], dtype=np.float64)


def spec_value(case: Case, x=None) -> np.ndarray:
    """The spec's forward value of ``case`` (at another ``x`` when given)."""
    c = case if x is None else case.with_x(x, return_indices=False)
    out = c.spec_forward()
    return np.asarray(out[0] if c.return_indices else out, dtype=np.float64)


def param_partials(case: Case, win: Windows) -> np.ndarray:
    """``|dy/d(param)|`` per output (batched), from the spec's own JVP with unit parameter
    tangents."""
    tangents = (np.zeros_like(case.x),) + tuple(np.ones_like(p) for p in case.params)
    with np.errstate(all="ignore"):
        _, dot = spec.jvp(case.op, case.primals, tangents, **case.cfg)
    return np.abs(win.batch(dot))


# -- derivatives ---------------------------------------------------------------------------------
@dataclass
class Partials:
    """The partials of one case: per input (x first) ``(|a|, delta)`` -- their magnitudes
    and absolute error bounds, ``[N, C, *O, K]`` for x and window parameters,
    ``[N, C, *O]`` for channel parameters -- or ``None`` (no derivative). ``units``: the
    subnormal units a cotangent may lose per window cell (default: one per real cell)."""

    inputs: list
    units: np.ndarray | None = field(default=None)


def _n_terms(case: Case, win: Windows, parts: Partials) -> float:
    """Terms of one JVP output: ``K`` per cell-shaped input, one per channel input."""
    n = 0.0
    for s, p in zip(case.record.input_specs, parts.inputs):
        if p is not None:
            n += win.K if s.kind in ("x", "window") else 1.0
    return n


def _times(weight, v):
    """``|v_dot| v`` (a tangent) or ``|y_bar| v`` (a cotangent), 0 where it is 0: the
    spec's convention that a zero tangent or cotangent contributes 0 even against a NaN
    or infinite partial (or its bound)."""
    return np.where(weight == 0, 0.0, weight * v)


def jvp_bound(
    case: Case, win: Windows, parts: Partials, tangents, ref_dot, differentiable
) -> tuple[np.ndarray, np.ndarray]:
    """``(bound, magnitude)`` per output (batched): the bound ``sum_k |v_k| (delta_k +
    |a_k| (m + 1) u) + u |y_dot| (1 + 2 per parameter) + tiny (K + 2 + sum |x_dot|)``,
    ``m`` the terms of the sum, and the terms' magnitudes ``sum_k |v_k| |a_k|``."""
    m = _n_terms(case, win, parts)
    u = win.u
    with np.errstate(all="ignore"):
        x_dot = np.abs(win.gather(tangents[0]))
        a, d = parts.inputs[0]
        bound = _times(x_dot, d + a * ((m + 1) * u)).sum(-1)
        magnitude = _times(x_dot, a).sum(-1)
        dy = np.abs(win.batch(ref_dot))
        for i, (s, p) in enumerate(zip(case.record.input_specs[1:], parts.inputs[1:])):
            if p is None or s.name not in differentiable or tangents[i + 1] is None:
                continue
            t = np.abs(np.asarray(tangents[i + 1], dtype=np.float64))
            a, d = p
            if s.kind == "window":
                shape = (1, t.shape[0] if t.ndim == 2 else 1) + (1,) * win.geom.d
                tk = t.reshape(shape + (t.shape[-1],))
                bound = bound + _times(tk, d + a * ((m + 1) * u)).sum(-1)
                magnitude = magnitude + _times(tk, a).sum(-1)
            else:  # () as it is, [C] per channel, [C, *O] (position) per output
                if t.ndim == 1:
                    tc = t.reshape((1, -1) + (1,) * win.geom.d)
                else:
                    tc = t[None] if t.ndim else t
                bound = bound + _times(tc, d + a * ((m + 1) * u))
                magnitude = magnitude + _times(tc, a)
            bound = bound + 2 * u * dy
        under = np.where(win.real, x_dot, 0.0).sum(axis=-1)
        bound = bound + u * dy + win.tiny * (win.K + 2 + under)
    return finite(bound), _magnitude(magnitude)


def vjp_bounds(case: Case, win: Windows, parts: Partials, cotangent, differentiable) -> list:
    """Per input (x first): ``(bound, magnitude)`` of its cotangent (``None`` where not
    differentiable): the bound ``scatter(|y_bar| delta) + (t + 2) u scatter(|a| |y_bar|)``
    for x (``t`` the terms a cell receives), plus its subnormal units, and the summed
    parameter terms; the magnitude ``scatter(|a| |y_bar|)`` (summed for a parameter)."""
    u = win.u
    yb = np.abs(win.batch(cotangent))
    out = []
    with np.errstate(all="ignore"):
        a, d = parts.inputs[0]
        geom = win.geom
        terms = geom.scatter(win.real.astype(np.float64))
        contrib = _times(yb[..., None], a)
        bx = geom.scatter(_times(yb[..., None], d)) + (terms + 2) * u * geom.scatter(contrib)
        units = win.real.astype(np.float64) if parts.units is None else parts.units
        under = geom.scatter(np.where(win.real, np.broadcast_to(yb[..., None], win.w.shape), 0))
        bx = bx + win.tiny * (geom.scatter(units) + 2 + under)
        out.append((finite(win.unbatch(bx)), _magnitude(win.unbatch(geom.scatter(contrib)))))
        n_out = float(yb.size)
        for i, (s, p) in enumerate(zip(case.record.input_specs[1:], parts.inputs[1:])):
            primal = case.params[i]
            if p is None or primal is None or s.name not in differentiable:
                out.append(None)
                continue
            a, d = p
            shape = np.shape(primal)
            if s.kind == "window":
                per = _times(yb[..., None], d + (n_out + 1) * u * a)
                mag = _times(yb[..., None], a)
                keep = {1, per.ndim - 1} if len(shape) == 2 else {per.ndim - 1}
            else:
                per = np.broadcast_to(_times(yb, d + (n_out + 1) * u * a), yb.shape)
                mag = np.broadcast_to(_times(yb, a), yb.shape)
                keep = set(range(1, 1 + len(shape)))  # () all, [C] or [C, *O]: sum over N
            axes = tuple(j for j in range(per.ndim) if j not in keep)
            b = np.asarray(per.sum(axis=axes)).reshape(shape) + win.tiny * (n_out + 2)
            out.append((finite(b), _magnitude(np.asarray(mag.sum(axis=axes)).reshape(shape))))
    return out


def selection_vjp_bound(case: Case, cotangent, terms, under=0.0) -> np.ndarray:
    """A selection's cotangent: every cell adds the cotangents of the windows selecting it
    (the spec's own VJP of ``|y_bar|``), at most ``terms`` of them: ``(terms + 1) u`` of
    that, plus a subnormal unit per term (and ``under``, units lost by the cotangents)."""
    u = unit(case.dtype)
    with np.errstate(all="ignore"):
        picked = spec.vjp(case.op, case.primals, np.abs(cotangent), **case.cfg)[0]
        bound = (terms + 1) * u * np.abs(np.nan_to_num(picked))
    return finite(bound + SMALLEST_SUBNORMAL[case.dtype] * (terms + 2 + under))


def window_vjp_bound(case: Case, cotangent) -> np.ndarray:
    """:func:`selection_vjp_bound` of an op whose windows read the input itself: a cell
    receives one term per window that reads it."""
    win = Windows(case)
    yb = np.abs(win.batch(cotangent))
    with np.errstate(all="ignore"):
        terms = win.scatter(win.real.astype(np.float64))
        under = win.scatter(np.where(win.real, np.broadcast_to(yb[..., None], win.w.shape), 0))
    return selection_vjp_bound(case, cotangent, terms, under)
