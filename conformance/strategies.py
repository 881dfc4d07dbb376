"""Hypothesis strategies that draw valid configurations directly (never by filtering).

Geometry is drawn axis by axis so that every constraint holds by construction:
kernel, dilation and stride first, then padding -- any amount is valid: in a quarter of
the draws up to the effective kernel + 1 (so windows wholly in padding, empty windows,
happen), otherwise within half the effective kernel, which is all a target that declares
the capability limit C6 (``padding_limit="half_kernel"``) is drawn -- then an input extent
long enough for one window (C8). Ranks 1..5 (within what the target declares), batched and
unbatched, N = 0 included. Values come from *regimes* that make edges happen: small
integer grids (ties), NaN, +-inf, +-0, huge and tiny magnitudes (one scale per array
anywhere in the dtype's range, or one per cell), windows entirely of -inf.

Integer dtypes are drawn where the target declares them and the op takes them (max
pooling), for the properties that hold on integers (not the derivatives: integers have
none; not positive scaling: ``alpha x`` leaves a bounded integer type, and an empty
window's minimum does not scale). Their regimes: small grids (ties), the dtype's whole
range with its ends, windows of the dtype's minimum (the analogue of -inf), zeros.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st

from ndpool import spec

from . import corpus
from .cases import (
    LARGEST,
    SMALLEST_NORMAL,
    SMALLEST_SUBNORMAL,
    Case,
    integer_range,
    is_integer_dtype,
    to_dtype,
)
from .deviations import accepts
from .targets.base import Capabilities

#: cells per spatial axis and kernel taps per axis, by spatial rank (keeps arrays small)
MAX_EXTRA = {1: 6, 2: 4, 3: 2, 4: 1, 5: 1}
MAX_KERNEL = {1: 4, 2: 3, 3: 3, 4: 2, 5: 2}
MAX_ADAPTIVE_LEN = {1: 9, 2: 6, 3: 4, 4: 3, 5: 3}


def _form(draw, values: tuple[int, ...], batched: bool, allow_int: bool = True):
    """An int when every axis agrees (and the int form is unambiguous), else a tuple."""
    if allow_int and batched and len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return tuple(values)


def sliding_geometry(draw, caps: Capabilities, op: str, d: int, batched: bool, ctx: dict):
    """``(spatial, cfg)`` for a sliding-window op, valid by construction."""
    keys = caps.keys(op)
    kmax = MAX_KERNEL[d]
    kernel = tuple(draw(st.integers(1, kmax)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d)) if "dilation" in keys else (1,) * d
    use_stride = "stride" in keys and draw(st.booleans())
    stride = tuple(draw(st.integers(1, 3)) for _ in range(d)) if use_stride else kernel
    eff = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    half = tuple(e // 2 for e in eff)
    if caps.padding_limit is None and "padding" in keys and draw(st.integers(0, 3)) == 0:
        half = tuple(e + 1 for e in eff)  # past the kernel: windows wholly in padding
    no_pad = ctx.get("no_padding", False)
    forms = [f for f in caps.padding_forms if not no_pad or f in ("int", "valid")]
    form = draw(st.sampled_from(forms)) if "padding" in keys and forms else None
    if no_pad:
        pads = ((0, 0),) * d
        padding: Any = None if form is None else (0 if form == "int" else "valid")
    elif form == "int":
        p = draw(st.integers(0, min(half)))
        pads, padding = ((p, p),) * d, p
    elif form == "ints":
        ps = tuple(draw(st.integers(0, h)) for h in half)
        pads, padding = tuple((p, p) for p in ps), ps
    elif form == "pairs":
        pads = tuple((draw(st.integers(0, h)), draw(st.integers(0, h))) for h in half)
        padding = pads
    elif form in ("valid", "same", "same_lower"):
        pads, padding = ((0, 0),) * d, form
    else:
        pads, padding = ((0, 0),) * d, None
    extra = MAX_EXTRA[d] if ctx.get("long") is None else ctx["long"]
    spatial = []
    for e, (pb, pe) in zip(eff, pads):
        lo = 1 if form in ("same", "same_lower") else max(1, e - pb - pe)
        spatial.append(lo + draw(st.integers(0, extra)))
    if ctx.get("translate"):
        a = ctx["meta"]["translate_axis"] = draw(st.integers(0, d - 1))
        t = ctx["meta"]["translate_by"] = draw(st.integers(1, 2))
        ctx["meta"]["stride"] = stride[a]
        spatial[a] = max(spatial[a], eff[a] + t * stride[a]) + draw(st.integers(0, 1))
    ceil = "ceil_mode" in keys and not ctx.get("no_ceil") and draw(st.booleans())
    cfg: dict[str, Any] = {"kernel_size": _form(draw, kernel, batched)}
    if use_stride:
        cfg["stride"] = _form(draw, stride, batched)
    if padding is not None:
        cfg["padding"] = padding
    if "dilation" in keys and (any(v != 1 for v in dilation) or draw(st.booleans())):
        cfg["dilation"] = _form(draw, dilation, batched, allow_int=True)
    if "ceil_mode" in keys:
        cfg["ceil_mode"] = ceil
    return tuple(spatial), cfg


def adaptive_geometry(draw, caps: Capabilities, op: str, d: int, batched: bool, ctx: dict):
    lmax = MAX_ADAPTIVE_LEN[d]
    spatial = tuple(draw(st.integers(1, lmax)) for _ in range(d))
    sizes = tuple(
        None
        if ctx.get("allow_none", True) and draw(st.integers(0, 5)) == 0
        else draw(st.integers(1, length + 2))
        for length in spatial
    )
    if batched and len(set(sizes)) == 1 and sizes[0] is not None and draw(st.booleans()):
        output_size: Any = sizes[0]
    else:
        output_size = sizes
    return spatial, {"output_size": output_size}


def s3_geometry(draw, caps: Capabilities, op: str, d: int, batched: bool, ctx: dict):
    """``(spatial, cfg)`` for ``s3_pool``: kernel, stride (the downsampling factor), a grid
    that is a multiple of it, padding within half the kernel (its windows of padding only
    are step 1's, max pooling's, drawn there), and per axis the shortest
    input of ``n`` grids whose last grid holds enough rows (C21), found by a
    deterministic search from the drawn values (never a filter)."""
    keys = caps.keys(op)
    small = d >= 3  # keep high ranks small: stride = kernel, no dilation, one grid
    kernel = tuple(draw(st.integers(1, min(3, MAX_KERNEL[d]))) for _ in range(d))
    use_stride = "stride" in keys and not small and draw(st.booleans())
    stride = tuple(draw(st.integers(1, 2)) for _ in range(d)) if use_stride else kernel
    use_dil = "dilation" in keys and not small
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d)) if use_dil else (1,) * d
    eff = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    use_grid = "grid_size" in keys and not small and draw(st.booleans())
    mult = tuple(draw(st.integers(1, 2)) for _ in range(d)) if use_grid else (1,) * d
    # a grid of at least the effective kernel always leaves its last grid enough rows
    mult = tuple(max(m, -(-e // s)) for m, e, s in zip(mult, eff, stride))
    use_grid = use_grid or any(m > 1 for m in mult)
    grid = tuple(s * m for s, m in zip(stride, mult))
    half = tuple(e // 2 for e in eff)
    forms = [f for f in caps.padding_forms if f in ("int", "ints", "pairs", "valid")]
    form = draw(st.sampled_from(forms)) if "padding" in keys and forms else None
    if form == "int":
        p = draw(st.integers(0, min(half)))
        pads, padding = ((p, p),) * d, p
    elif form == "ints":
        ps = tuple(draw(st.integers(0, h)) for h in half)
        pads, padding = tuple((p, p) for p in ps), ps
    elif form == "pairs":
        pads = tuple((draw(st.integers(0, h)), draw(st.integers(0, h))) for h in half)
        padding = pads
    else:
        pads, padding = ((0, 0),) * d, ("valid" if form == "valid" else None)
    max_grids = 3 if d == 1 else (2 if d == 2 else 1)
    spatial = []
    for e, (pb, pe), g, s in zip(eff, pads, grid, stride):
        n = draw(st.integers(1, max_grids))
        length = n * g + draw(st.integers(0, g - 1))
        # the stride-1 max map has L + pads - (e - 1) rows; the last grid needs g // s
        while length + pb + pe - (e - 1) - (length // g - 1) * g < g // s:
            length += 1
        spatial.append(length)
    cfg: dict[str, Any] = {"kernel_size": _form(draw, kernel, batched)}
    if use_stride:
        cfg["stride"] = _form(draw, stride, batched)
    if use_grid:
        cfg["grid_size"] = _form(draw, grid, batched)
    if padding is not None:
        cfg["padding"] = padding
    if use_dil and (any(v != 1 for v in dilation) or draw(st.booleans())):
        cfg["dilation"] = _form(draw, dilation, batched)
    if "ceil_mode" in keys:
        cfg["ceil_mode"] = draw(st.booleans())
    return tuple(spatial), cfg


def window_cells(record, shape, cfg) -> int:
    """Cells per window (``K``) of a sliding-window op (0 where it has no such windows)."""
    if record.windows.name != "sliding":
        return 0
    return record.geometry(tuple(shape), **cfg).window_size


# -- values ---------------------------------------------------------------------------
def specials(dtype: str, fraction: float) -> np.ndarray:
    huge = LARGEST[dtype] * fraction
    tiny = SMALLEST_NORMAL[dtype]
    sub = SMALLEST_SUBNORMAL[dtype] * 3
    return np.array(
        [np.nan, np.inf, -np.inf, 0.0, -0.0, huge, -huge, tiny, -tiny, sub, -sub, 1.0, -1.0]
    )


def integer_values(rng: np.random.Generator, shape, dtype: str, regime: str) -> np.ndarray:
    """An array of ``shape`` of ``dtype``'s integers (as float64): ``grid`` small values with
    ties, ``neg_inf`` mostly the dtype's minimum (the integer analogue of a window of
    -inf), ``zeros`` mostly 0, any other regime the dtype's whole range with its ends, 0
    and +-1 (int64 within +-2**53, :func:`~.cases.integer_range`)."""
    lo, hi = integer_range(dtype)
    n = math.prod(shape)
    grid = rng.integers(max(lo, -3), min(hi, 3), size=n, endpoint=True)
    if regime == "grid":
        out = grid
    elif regime == "neg_inf":
        out = np.where(rng.random(n) < 0.75, lo, grid)
    elif regime == "zeros":
        out = np.where(rng.random(n) < 0.7, 0, grid)
    else:
        wide = rng.integers(lo, hi, size=n, endpoint=True)
        ends = rng.choice(np.array([lo, hi, 0, max(lo, -1), 1]), size=n)
        pick = rng.integers(0, 3, size=n)
        out = np.where(pick == 0, wide, np.where(pick == 1, ends, grid))
    return out.astype(np.float64).reshape(shape)


def values(rng: np.random.Generator, shape, dtype: str, regime: str, fraction: float):
    """An array of ``shape`` in ``regime``, rounded to ``dtype`` (float64 values)."""
    if is_integer_dtype(dtype):
        return integer_values(rng, shape, dtype, regime)
    n = math.prod(shape)
    grid = rng.integers(-3, 4, size=n).astype(np.float64)
    if regime == "grid":
        out = grid
    elif regime == "floats":
        scale = 10.0 ** rng.uniform(-2, 2)
        out = rng.standard_normal(n) * scale
    elif regime == "specials":
        pick = rng.random(n) < 0.3
        out = np.where(pick, rng.choice(specials(dtype, fraction), size=n), grid)
    elif regime == "nan":
        u = rng.random(n)
        out = np.where(u < 0.15, np.nan, np.where(u < 0.25, rng.choice([np.inf, -np.inf], n), grid))
    elif regime == "neg_inf":
        out = np.where(rng.random(n) < 0.75, -np.inf, grid)
    elif regime == "magnitudes":
        sp = specials(dtype, fraction)
        finite = sp[np.isfinite(sp)]
        out = rng.choice(finite, size=n)
    elif regime in ("scaled", "wide"):
        # one binade for the whole array ("scaled": every window at that magnitude) or
        # one per cell ("wide": mixed scales in a window), over the dtype's whole range
        # with its ends weighted up: near overflow, among the subnormals
        size = 1 if regime == "scaled" else n
        out = rng.uniform(-1.0, 1.0, n) * _binades(rng, size, dtype, fraction)
    elif regime == "zeros":
        out = np.where(rng.random(n) < 0.7, rng.choice([0.0, -0.0], size=n), grid)
    else:
        raise ValueError(f"unknown value regime {regime!r}")
    return to_dtype(out.reshape(shape), dtype)


def _binades(rng: np.random.Generator, size: int, dtype: str, fraction: float) -> np.ndarray:
    """``size`` scales ``LARGEST * fraction * 2**-j``, ``j`` from 0 down to the smallest
    subnormal: a third within 4 binades of the top, a third within 4 of the bottom, a
    third anywhere."""
    mant, exp = math.frexp(LARGEST[dtype] * fraction)
    span = exp - math.frexp(SMALLEST_SUBNORMAL[dtype])[1]
    which = rng.integers(0, 3, size)
    j = np.where(
        which == 0,
        rng.integers(0, 4, size),
        np.where(which == 1, span - rng.integers(0, 4, size), rng.integers(0, span + 1, size)),
    )
    return np.ldexp(mant, exp - j)


def rng_of(draw) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


# -- whole cases -------------------------------------------------------------------------
#: the properties that hold on floats only: derivatives (integers have none) and positive
#: scaling (``alpha x`` leaves a bounded integer type; an empty window's minimum does not
#: scale)
FLOAT_ONLY_PROPERTIES = ("jvp", "vjp", "adjoint", "positive_scaling")


def drawn_dtypes(record, caps: Capabilities, ctx: dict) -> tuple[str, ...]:
    """The dtypes a case of ``record`` is drawn in: the declared ones (or the property's),
    without the integer dtypes where the op takes none or the property holds on floats
    only (:data:`FLOAT_ONLY_PROPERTIES`); where nothing is left, the draw is discarded."""
    dtypes = tuple(ctx.get("dtypes", caps.dtypes))
    if not record.integers or ctx.get("property") in FLOAT_ONLY_PROPERTIES:
        dtypes = tuple(t for t in dtypes if not is_integer_dtype(t))
    if not dtypes:
        reject()
    return dtypes


#: the facts of a case that :func:`cases` draws before its values, in this order; a
#: registered region whose scope names only these is never drawn into (``ctx["excluded"]``)
DRAWN_FACTS = ("d", "batched", "dtype", "layout")


def _choose(draw, name: str, values, chosen: dict, excluded: list[dict]):
    """Draw ``name`` from ``values``, leaving out every value that, with the facts
    ``chosen`` so far, completes one of the ``excluded`` scopes (each a dict of
    :data:`DRAWN_FACTS` to a value or a list of values); where none is left the draw
    so far lies wholly in an excluded region and is discarded (``reject``)."""
    known = set(chosen) | {name}

    def inside(value) -> bool:
        facts = {**chosen, name: value}
        return any(
            set(scope) <= known and all(accepts(w, facts[k]) for k, w in scope.items())
            for scope in excluded
        )

    left = [v for v in values if not inside(v)]
    if not left:
        reject()
    chosen[name] = draw(st.sampled_from(left))
    return chosen[name]


@st.composite
def cases(draw, info, caps: Capabilities, ctx: dict | None = None) -> Case:
    """A valid case of the op whose conformance record is ``info``, within ``caps``.
    ``ctx`` steers it: ``property`` (the property's name, kept in the case's ``meta``),
    ``regimes``, ``batch`` (range of N), ``channels``, ``return_indices``,
    ``no_padding``, ..."""
    ctx = dict(ctx or {})
    ctx["meta"] = {}
    op = info.name
    record = spec.OPS[op]
    if ctx.get("edge") is not None:
        return _edge_case(draw, info, caps, ctx)
    excluded, chosen = ctx.get("excluded") or [], {}
    d = _choose(draw, "d", caps.ranks, chosen, excluded)
    batched = _choose(draw, "batched", ctx.get("batched", caps.batched), chosen, excluded)
    n_lo, n_hi = ctx.get("batch", (0 if caps.empty_batch else 1, 2))
    # N = 0 is drawn, but rarely outside the shape property (it checks nothing else)
    nonzero = tuple(range(max(n_lo, 1), n_hi + 1))
    n = draw(st.sampled_from(((n_lo,) if n_lo == 0 else ()) + nonzero * 3))
    c = draw(st.integers(*ctx.get("channels", (1, 3))))
    draw_geometry = info.draw_geometry or sliding_geometry
    spatial, cfg = draw_geometry(draw, caps, op, d, batched, ctx)
    options = info.draw_options(draw, caps, ctx)
    cfg.update(options)
    dtype = _choose(draw, "dtype", drawn_dtypes(record, caps, ctx), chosen, excluded)
    layout = _choose(draw, "layout", caps.layouts, chosen, excluded)
    shape = ((n,) if batched else ()) + (c, *spatial)
    regime = draw(st.sampled_from(ctx.get("regimes", info.forward_regimes)))
    rng = rng_of(draw)
    x = values(rng, shape, dtype, regime, info.magnitude_fraction)
    if info.prepare_x is not None:
        x = to_dtype(info.prepare_x(x, rng), dtype)
    pctx = {**ctx, **options, "x_shape": shape, "cfg": cfg, "k": window_cells(record, shape, cfg)}
    params = tuple(info.draw_params(draw, caps, c, dtype, pctx))
    if info.adjust_params is not None:
        params = tuple(info.adjust_params(x, params, cfg, dtype))
    return Case(
        op=op,
        x=x,
        params=params,
        cfg=cfg,
        dtype=dtype,
        layout=layout,
        batched=batched,
        return_indices=bool(ctx.get("return_indices")) and record.returns_indices,
        meta=dict(ctx["meta"], regime=regime, property=ctx.get("property")),
    )


def _edge_case(draw, info, caps: Capabilities, ctx: dict) -> Case:
    """The case of the corpus edge ``ctx["edge"]`` (:mod:`.corpus`): its cells, geometry
    and options pinned, the rest drawn; :class:`~.corpus.NotApplicable` where the edge
    does not fit the op, the target or the property's value regimes."""
    edge = ctx["edge"]
    op = info.name
    if not corpus.applies(edge, ctx.get("regimes", info.forward_regimes)):
        raise corpus.NotApplicable(f"the property draws no {edge.kind} values")
    dtypes = ctx.get("dtypes", caps.dtypes)
    if not spec.OPS[op].integers or ctx.get("property") in FLOAT_ONLY_PROPERTIES:
        dtypes = tuple(t for t in dtypes if not is_integer_dtype(t))
    if edge.dtype is not None and edge.dtype not in dtypes:
        raise corpus.NotApplicable(f"the property draws no {edge.dtype} inputs")
    if not dtypes:
        raise corpus.NotApplicable("the property draws none of the declared dtypes")
    dtype = edge.dtype or draw(st.sampled_from(dtypes))
    try:
        x, cfg, batched = corpus.pinned(edge, op, caps, dtype, info.magnitude_fraction)
    except ValueError as exc:  # a NaN or infinite cell has no integer value
        raise corpus.NotApplicable(f"the edge's values are not {dtype} values: {exc}") from exc
    rng = rng_of(draw)
    if info.prepare_x is not None:
        x = to_dtype(info.prepare_x(x, rng), dtype)
    options = info.draw_options(draw, caps, ctx)
    cfg = {**cfg, **{k: v for k, v in options.items() if k not in cfg}}
    c = x.shape[1 if batched else 0]
    shape = x.shape
    pctx = {**ctx, **cfg, "x_shape": shape, "cfg": cfg, "k": window_cells(spec.OPS[op], shape, cfg)}
    params = tuple(info.draw_params(draw, caps, c, dtype, pctx))
    names = [s.name for s in spec.OPS[op].input_specs[1:]]
    params = tuple(
        np.full_like(p, edge.params[name]) if name in edge.params and p is not None else p
        for name, p in zip(names, params)
    )
    if info.adjust_params is not None:
        params = tuple(info.adjust_params(x, params, cfg, dtype))
    case = Case(
        op=op,
        x=x,
        params=params,
        cfg=cfg,
        dtype=dtype,
        layout=edge.layout or draw(st.sampled_from(caps.layouts)),
        batched=batched,
        return_indices=bool(ctx.get("return_indices")) and spec.OPS[op].returns_indices,
        meta={"regime": f"edge:{edge.name}", "edge": edge.name, "property": ctx.get("property")},
    )
    try:
        with np.errstate(all="ignore"):
            case.spec_forward()
    except spec.ConstraintError as exc:  # e.g. a NaN cell where the op needs x >= 0
        raise corpus.Redraw(f"the spec rejects it: {exc}") from exc
    return case


def tangent_like(draw, a: np.ndarray, dtype: str) -> np.ndarray:
    """A tangent / cotangent: small integers or floats, rounded to ``dtype``."""
    rng = rng_of(draw)
    regime = draw(st.sampled_from(("grid", "floats")))
    return values(rng, np.shape(a), dtype, regime, 1.0)
