"""The edge corpus: one pinned input per documented edge class, checked before any drawn
example in every profile.

A drawn run reaches an edge class only by chance; the corpus makes sure that every run
-- a quick one included -- meets each of them at least once for each op it applies to:
NaN (one, several, a whole window), +-inf, both in one window, an all -inf window, ties
(and signed zeros), negative cells under Lp's ``sign="signed"``, a ceil_mode window
overhanging the padding (with and without ``count_include_pad``) or the input by 2 cells,
padding at stride 1 (with and without ceil_mode), dilation with padding, a window of
padding only, "same" padding whose total would be negative (a stride longer than the
kernel), a kernel the size of the input, an empty batch, an unbatched input, and
magnitudes at both ends of the dtype's range. docs/conformance/edges.md lists them with
what the spec says happens there.

An :class:`Edge` pins the input's values, its geometry and, where it matters, options;
Hypothesis still draws the rest (parameters, layout, dtype unless pinned) so that the
corpus runs through the very properties the drawn examples do
(:meth:`~ndpool.conformance.runner.CheckContext.run`). The 1-D form is lifted by axes of
length 1 to every spatial rank the target declares up to 3-D (:func:`per_rank`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ndpool import spec

from .cases import LARGEST, SMALLEST_NORMAL, SMALLEST_SUBNORMAL, to_dtype
from .targets.base import Capabilities

NAN, INF = np.nan, np.inf

#: the properties the corpus runs through (the metamorphic ones build their own inputs)
CORPUS_PROPERTIES = ("forward", "indices", "jvp", "vjp", "adjoint", "output_shape")

#: which value regimes may hold each kind of value (an edge applies where the property's
#: regimes allow its values: a property checking finite inputs only skips NaN edges)
_REGIMES_OF = {
    "finite": None,
    "nan": ("nan", "specials"),
    "inf": ("nan", "specials"),
    "neg_inf": ("neg_inf", "nan", "specials"),
    "magnitude": ("magnitudes", "scaled", "wide", "specials"),
}


class NotApplicable(Exception):
    """The edge does not apply to this op, target or property (it is skipped)."""


class Redraw(NotApplicable):
    """The edge does not apply with the free parts drawn this time (the spec rejects the
    case they make); other draws may fit, so the pin draws again."""


@dataclass(frozen=True)
class Edge:
    """One edge class: ``values(dtype, fraction)`` gives the 1-D cells ``[N, C, L]`` (or
    ``[C, L]`` unbatched), ``cfg`` the 1-D geometry, ``options`` option values it needs
    (an option the target lacks skips it), ``params`` values of extra inputs it needs, by
    input name (every entry of the drawn array set to it; an op without that input draws
    its own), ``kind`` which values it holds (see ``_REGIMES_OF``), ``dtype`` the dtype it
    is pinned to (``None``: drawn), ``rank`` the spatial rank it is lifted to (``None``:
    the target's smallest; see :func:`per_rank`), ``every_dtype`` whether it is pinned to
    each dtype (see :func:`per_dtype`), ``layout`` the memory layout it is pinned to
    (``None``: drawn; see :func:`per_layout`), ``axis`` the spatial axis its cells and
    geometry lie on once lifted (``-1``: the last; ``"every"``: the geometry on every axis,
    the cells along the last and repeated along the others; see :func:`per_axis`),
    ``spatial`` how many spatial axes its cells have (``values`` gives ``[N, C, H, W]`` and
    ``cfg`` a value per axis for a 2-D edge, which pins patterns no lift of a 1-D one has:
    ties along a diagonal, where row-major and column-major order disagree)."""

    name: str
    what: str
    windows: str  # "sliding" | "adaptive"
    values: Callable[[str, float], np.ndarray]
    cfg: dict[str, Any]
    kind: str = "finite"
    options: dict[str, Any] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)
    batched: bool = True
    dtype: str | None = None
    rank: int | None = None
    every_dtype: bool = False
    layout: str | None = None
    axis: int | str = -1
    spatial: int = 1


def _fixed(*rows) -> Callable[[str, float], np.ndarray]:
    """Fixed cells, ``[1, C, L]`` from the rows given (one per channel)."""
    a = np.array([list(r) for r in rows], dtype=np.float64)[None]
    return lambda dtype, fraction: a


def _plane(*planes) -> Callable[[str, float], np.ndarray]:
    """Fixed 2-D cells, ``[1, C, H, W]`` from the planes given (one per channel)."""
    a = np.array(planes, dtype=np.float64)[None]
    return lambda dtype, fraction: a


def _magnitudes(dtype: str, fraction: float) -> np.ndarray:
    """Three channels: the bottom of the range (a window of subnormals only, then normal
    and subnormal cells, mixed signs; 70 smallest subnormals are subnormal in every
    dtype, bfloat16's 7 significand bits included), the top (sums overflow where the mean
    does not), and both ends in one window."""
    n, s = SMALLEST_NORMAL[dtype], SMALLEST_SUBNORMAL[dtype]
    top = LARGEST[dtype] * fraction
    return np.array(
        [
            [
                [30 * s, 50 * s, 70 * s, 3 * n, -2 * n, s],
                [top, 0.75 * top, top, 0.5 * top, -0.875 * top, top],
                [top, s, -0.5 * top, 3 * s, 0.0, -s],
            ]
        ]
    )


K3 = {"kernel_size": 3, "stride": 1}
#: 8 cells under kernel 1, stride 4: the SAME total padding (ceil(8/4)-1)*4 + 1 - 8 = -3
#: is negative, which the spec clamps to 0 (windows at cells 0 and 4); a kernel that
#: splits -3 as a padding starts each window a cell late under either form
_PAST_KERNEL = [1, -2, 3, 0, 5, 4, 2, -1]
SLIDING_EDGES = (
    Edge(
        "nan",
        "one NaN in a window, two in one, a window of NaN only (a channel each)",
        "sliding",
        _fixed([1, NAN, 2, 3, -1, 0], [NAN, 1, NAN, 2, 0, 3], [NAN, NAN, NAN, 1, 2, 3]),
        K3,
        "nan",
    ),
    Edge(
        "infinities",
        "+inf, -inf, both in one window, a window of -inf only (first, and past the first)",
        "sliding",
        _fixed(
            [1, INF, 2, -1, 3, 0],
            [1, -INF, 2, -1, 3, 0],
            [INF, -INF, 1, 2, 0, 1],
            [-INF, -INF, -INF, 1, 2, -INF],
            [1, -INF, -INF, -INF, 2, -INF],
        ),
        K3,
        "inf",
    ),
    Edge(
        "ties",
        "ties for the maximum, and -0.0 before +0.0",
        "sliding",
        _fixed([2, 2, 1, 2, 2, 0], [1, 3, 3, 0, 3, 3], [-0.0, 0.0, 0.0, -0.0, -1, -0.0]),
        K3,
    ),
    Edge(
        "ties-2d",
        "ties along diagonals in padded 2-D windows: the first maximizer in row-major "
        "order wins, where column-major order picks another",
        "sliding",
        _plane([[0, 1, 0], [1, 0, 1], [0, 1, 0]], [[2, 1, 2], [1, 2, 1], [2, 1, 2]]),
        {"kernel_size": (2, 2), "stride": (1, 1), "padding": (1, 1)},
        spatial=2,
    ),
    Edge(
        "signed-cells",
        "negative cells under sign='signed', p = 3 (Lp: the sign kept, not |x|)",
        "sliding",
        _fixed([-1, 2, -3, 0.5, -2, 1]),
        {"kernel_size": 2, "stride": 1},
        options={"sign": "signed"},
        params={"norm_type": 3.0},  # an odd power: x**3 keeps the sign, |x|**3 does not
    ),
    Edge(
        "ceil-overhang-pad",
        "a ceil_mode window past the padding, count_include_pad",
        "sliding",
        _fixed([1, 2, 3, 4, 5, 6]),
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        options={"count_include_pad": True},
    ),
    Edge(
        "ceil-overhang-nopad",
        "a ceil_mode window past the padding, not counting it",
        "sliding",
        _fixed([1, 2, 3, 4, 5, 6]),
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        options={"count_include_pad": False},
    ),
    Edge(
        "padded",
        "padding 1 at both ends, stride 1 (the commonest padded pooling)",
        "sliding",
        _fixed([1, -2, 3, 0, 5, 4]),
        {"kernel_size": 2, "stride": 1, "padding": 1},
    ),
    Edge(
        "padded-ceil",
        "the same with ceil_mode (no window past the padded extent at stride 1)",
        "sliding",
        _fixed([1, -2, 3, 0, 5, 4]),
        {"kernel_size": 2, "stride": 1, "padding": 1, "ceil_mode": True},
    ),
    Edge(
        "ceil-overhang-2",
        "a ceil_mode window 2 cells past the input (kernel 3, stride 3 over 4 cells)",
        "sliding",
        _fixed([1, -2, 3, 4]),
        {"kernel_size": 3, "stride": 3, "ceil_mode": True},
    ),
    Edge(
        "ceil-overhang",
        "a ceil_mode window past the input, no padding",
        "sliding",
        _fixed([1, -2, 3, 4, -5]),
        {"kernel_size": 2, "ceil_mode": True},
    ),
    Edge(
        "dilation-padding",
        "a dilated kernel over padding",
        "sliding",
        _fixed([1, -2, 3, 0, 5, 4]),
        {"kernel_size": 2, "stride": 1, "dilation": 2, "padding": 1},
    ),
    Edge(
        "empty-window",
        "a window of padding only (a dilated kernel over a 1-cell axis), not counting padding",
        "sliding",
        _fixed([5]),
        {"kernel_size": 2, "stride": 1, "dilation": 2, "padding": 1},
        options={"count_include_pad": False},
    ),
    Edge(
        "same-stride-past-kernel",
        'padding "same" where the stride is longer than the kernel (no padding, not negative)',
        "sliding",
        _fixed(_PAST_KERNEL),
        {"kernel_size": 1, "stride": 4, "padding": "same"},
    ),
    Edge(
        "same-lower-stride-past-kernel",
        'the same with padding "same_lower"',
        "sliding",
        _fixed(_PAST_KERNEL),
        {"kernel_size": 1, "stride": 4, "padding": "same_lower"},
    ),
    Edge(
        "kernel-is-input",
        "one window covering the whole input",
        "sliding",
        _fixed([3, -1, 4, 1]),
        {"kernel_size": 4},
    ),
    Edge(
        "huge-stride",
        "a stride past int32's range (2**31): one window",
        "sliding",
        _fixed([1, -2, 3, 0, 5]),
        {"kernel_size": 2, "stride": 2**31},
    ),
    Edge(
        "empty-batch",
        "N = 0",
        "sliding",
        lambda dt, f: np.zeros((0, 2, 5)),
        {"kernel_size": 2},
        every_dtype=True,
    ),
    Edge(
        "zero-channels",
        "C = 0",
        "sliding",
        lambda dt, f: np.zeros((1, 0, 5)),
        {"kernel_size": 2},
        every_dtype=True,
    ),
    Edge(
        "unbatched",
        "an input without the batch axis",
        "sliding",
        lambda dt, f: np.array([[1.0, -2, 3, 0, 2]]),
        {"kernel_size": (2,), "stride": (1,)},
        batched=False,
    ),
    Edge(
        "magnitudes",
        "the bottom of the range, the top (sums overflow), both in a window",
        "sliding",
        _magnitudes,
        K3,
        "magnitude",
    ),
)

ADAPTIVE_EDGES = (
    Edge(
        "nan",
        "one NaN in a bin, a bin of NaN only",
        "adaptive",
        _fixed([1, NAN, 2, 3, -1], [NAN, NAN, 1, 2, 0]),
        {"output_size": 3},
        "nan",
    ),
    Edge(
        "infinities",
        "+inf and -inf in one bin, a bin of -inf only",
        "adaptive",
        _fixed([INF, -INF, 1, 2, 0], [-INF, -INF, 1, 2, -INF]),
        {"output_size": 3},
        "inf",
    ),
    Edge(
        "ties",
        "ties in overlapping bins, -0.0 before +0.0",
        "adaptive",
        _fixed([2, 2, 1, 2, 2], [-0.0, 0.0, 0.0, -0.0, 0.0]),
        {"output_size": 3},
    ),
    Edge("more-bins", "more bins than cells", "adaptive", _fixed([1, -2, 3]), {"output_size": 5}),
    Edge(
        "empty-batch",
        "N = 0",
        "adaptive",
        lambda dt, f: np.zeros((0, 2, 5)),
        {"output_size": 2},
        every_dtype=True,
    ),
    Edge(
        "zero-channels",
        "C = 0",
        "adaptive",
        lambda dt, f: np.zeros((1, 0, 5)),
        {"output_size": 2},
        every_dtype=True,
    ),
    Edge(
        "magnitudes",
        "the bottom of the range, the top (sums overflow), both in a bin",
        "adaptive",
        _magnitudes,
        {"output_size": 4},
        "magnitude",
    ),
)

EDGES = {"sliding": SLIDING_EDGES, "adaptive": ADAPTIVE_EDGES}


def per_dtype(edge: Edge, dtypes) -> list[Edge]:
    """The edge once per dtype of ``dtypes`` where its outcome depends on the dtype: its
    cells depend on the dtype's range (``kind="magnitude"``: what overflows or underflows
    depends on the dtype, and on the dtype a target computes in -- a float16 input summed
    in float32 does not overflow where a float32 one does), or a framework dispatches it
    to a different kernel per dtype (``every_dtype``: an empty input, which TensorFlow's
    float32 gradient sends to oneDNN and rejects, where its float16 one returns the empty
    result); else the edge itself, its dtype drawn."""
    if edge.kind != "magnitude" and not edge.every_dtype:
        return [edge]
    return [dataclasses.replace(edge, dtype=dtype) for dtype in dtypes]


#: the highest spatial rank the corpus is lifted to: frameworks have a kernel per rank up to
#: 3-D (max_pool3d, MaxPool3DGrad, adaptive_avg_pool3d), and their rank-specific defects
#: are there; above it the kernels are the generic N-D ones of the lower ranks
CORPUS_MAX_RANK = 3


def per_rank(edge: Edge, ranks) -> list[Edge]:
    """The edge once per spatial rank of ``ranks`` up to :data:`CORPUS_MAX_RANK` (lifted by
    axes of length 1): a framework's 1-D, 2-D and 3-D pooling are separate kernels, and a
    defect of one (a 3-D gradient that loses a +inf maximum, a 3-D float16 average summed
    in float16) is invisible in the others."""
    chosen = sorted(r for r in set(ranks) if r <= CORPUS_MAX_RANK) or [min(ranks)]
    if edge.spatial > 1:  # at its own rank and above (a leading axis of length 1), or not
        return [dataclasses.replace(edge, rank=r) for r in chosen if r >= edge.spatial]
    if len(chosen) == 1:
        return [edge]
    return [dataclasses.replace(edge, rank=r) for r in chosen]


def per_layout(edge: Edge, layouts) -> list[Edge]:
    """The edge once per memory layout of ``layouts`` (the thorough profile's corpus,
    ``runner.PIN_EVERY_PLACEMENT``): a framework may send each layout to a kernel of its
    own (torch's channels_last_3d max-pool is one), and a pin that draws its layout meets
    only one of them per run."""
    if len(layouts) == 1:
        return [edge]
    return [dataclasses.replace(edge, layout=layout) for layout in layouts]


#: how a pin's label names the axes an edge is lifted along (the last: nothing)
AXIS_LABELS = {0: " along the first axis", "every": " along every axis"}


def per_axis(edge: Edge) -> list[Edge]:
    """The edge lifted to 2-D or 3-D along the last spatial axis, along the first, and
    along every axis (the thorough profile's corpus, ``runner.PIN_EVERY_PLACEMENT``): a
    kernel may treat the outer axes apart (torch's channels_last_3d max-pool indices
    start a window of -inf only at depth 0), and the lifts along one axis leave the
    others of length 1 with kernel 1, where a kernel that mixes up the axes' geometry
    (ONNX's 2-D pads read in the wrong order) may be right by chance."""
    if edge.rank is None or edge.rank < 2 or edge.spatial > 1:
        return [edge]
    return [edge, dataclasses.replace(edge, axis=0), dataclasses.replace(edge, axis="every")]


def edges_for(windows: str) -> tuple[Edge, ...]:
    """The corpus of an op whose windows are of kind ``windows`` (none for s3_pool, whose
    geometry of grids is drawn)."""
    return EDGES.get(windows, ())


def applies(edge: Edge, regimes) -> bool:
    """Whether the property's value ``regimes`` allow the edge's values."""
    allowed = _REGIMES_OF[edge.kind]
    return allowed is None or any(r in allowed for r in regimes)


def _on_axis(v, d: int, fill, axis: int | str) -> tuple:
    """A ``d``-tuple with ``v`` on spatial axis ``axis`` (the one holding the edge's cells)
    and ``fill`` on the added (length-1) axes; ``v`` on every axis for ``"every"``."""
    if axis == "every":
        return (v,) * d
    out = [fill] * d
    out[axis] = v
    return tuple(out)


def _lift(v, d: int, fill, axis: int = -1):
    """A 1-D geometry value for ``d`` axes: itself for d = 1, else :func:`_on_axis`."""
    v = v[0] if isinstance(v, (tuple, list)) else v
    return v if d == 1 else _on_axis(v, d, fill, axis)


def pinned(edge: Edge, op: str, caps: Capabilities, dtype: str, fraction: float):
    """``(x, cfg, batched)`` of ``edge`` within ``caps`` at ``dtype`` (the cells rounded to
    it), or :class:`NotApplicable`."""
    keys = caps.keys(op)
    d = min(caps.ranks) if edge.rank is None else edge.rank
    if d not in caps.ranks:
        raise NotApplicable(f"{d}-D pooling not declared")
    if edge.batched not in caps.batched:
        raise NotApplicable(f"{'un' if not edge.batched else ''}batched input not declared")
    x = np.asarray(edge.values(dtype, fraction), dtype=np.float64)
    if x.size == 0 and x.ndim == 3 and not caps.empty_batch:
        raise NotApplicable("empty batch (N = 0, C = 0) not declared")
    if edge.spatial > 1:
        return _pinned_plane(edge, op, caps, x, d, dtype)
    cells, lead = x.shape[-1], x.shape[:-1]
    x = x.reshape(lead + _on_axis(cells, d, 1, -1 if edge.axis == "every" else edge.axis))
    x = to_dtype(np.broadcast_to(x, lead + _on_axis(cells, d, 1, edge.axis)).copy(), dtype)
    cfg: dict[str, Any] = {}
    for key, value in edge.cfg.items():
        if key not in keys:
            if key in ("kernel_size", "output_size"):
                raise NotApplicable(f"{key} not declared")
            raise NotApplicable(f"the edge needs {key}, which the target does not declare")
        if key == "padding":
            forms = caps.padding_forms
            if isinstance(value, str):
                if value not in forms:
                    raise NotApplicable(f"padding={value!r} not declared")
                cfg[key] = value
            elif d == 1 and "int" in forms:
                cfg[key] = value
            elif "ints" in forms:
                cfg[key] = _on_axis(value, d, 0, edge.axis)
            elif "pairs" in forms:
                cfg[key] = _on_axis((value, value), d, (0, 0), edge.axis)
            else:
                raise NotApplicable("no explicit padding form declared")
        elif key == "ceil_mode":
            cfg[key] = value
        else:  # sizes: 1 on the added axes (an unbatched input needs the tuple form)
            as_tuple = not edge.batched or isinstance(value, tuple) or d > 1
            lifted = _lift(value, d, 1, edge.axis)
            cfg[key] = (lifted if isinstance(lifted, tuple) else (lifted,)) if as_tuple else value
    return x, {**cfg, **_options(edge, op, caps)}, edge.batched


def _options(edge: Edge, op: str, caps: Capabilities) -> dict[str, Any]:
    """The options of ``edge`` that ``op`` has, or :class:`NotApplicable` where the target
    lacks one (or the value the edge needs)."""
    keys, cfg = caps.keys(op), {}
    for key, value in edge.options.items():
        if key not in spec.OPS[op].config_defaults:
            continue  # an option of other ops (count_include_pad for max_pool)
        if key not in keys:
            raise NotApplicable(f"the edge needs {key}, which the target does not declare")
        allowed = caps.option_values.get(key)
        if allowed is not None and value not in allowed:
            raise NotApplicable(f"{key}={value!r} not declared")
        cfg[key] = value
    return cfg


def _same_pads_one(edge: Edge) -> bool:
    """``padding="same"`` pads one cell on every axis of the edge (stride 1, kernel 2):
    its windows reach into padding as the edge's own padding of 1 makes them do (at the
    end only), for a target whose only explicit padding is "same" (Keras, TensorFlow)."""
    stride, kernel = edge.cfg.get("stride", 1), edge.cfg["kernel_size"]
    return set(np.atleast_1d(stride)) == {1} and set(np.atleast_1d(kernel)) == {2}


def _pinned_plane(edge: Edge, op: str, caps: Capabilities, x: np.ndarray, d: int, dtype: str):
    """:func:`pinned` of an edge with ``edge.spatial`` axes of cells: at rank ``d`` >= that,
    with leading spatial axes of length 1 (kernel 1, stride 1, no padding on them)."""
    s = edge.spatial
    if d < s:
        raise NotApplicable(f"a {s}-D edge at rank {d}")
    added = d - s
    x = to_dtype(x.reshape(x.shape[:-s] + (1,) * added + x.shape[-s:]), dtype)
    keys, forms, cfg = caps.keys(op), caps.padding_forms, {}
    for key, value in edge.cfg.items():
        if key not in keys:
            raise NotApplicable(f"the edge needs {key}, which the target does not declare")
        if key == "padding" and "ints" in forms:
            cfg[key] = (0,) * added + tuple(value)
        elif key == "padding" and "pairs" in forms:
            cfg[key] = ((0, 0),) * added + tuple((p, p) for p in value)
        elif key == "padding" and "same" in forms and set(value) == {1} and _same_pads_one(edge):
            cfg[key] = "same"  # stride 1, kernel 2: one cell at the end of every axis
        elif key == "padding":
            raise NotApplicable("no padding form per axis declared")
        elif key == "ceil_mode":
            cfg[key] = value
        else:
            cfg[key] = (1,) * added + tuple(value)
    return x, {**cfg, **_options(edge, op, caps)}, edge.batched
