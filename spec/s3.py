"""S3Pool (Zhai et al., 2017): stride-1 max pooling, then stochastic grid-wise sampling.

S3Pool is a composition, not one window reduction, so it has its own record
class (:class:`S3Op`) with the registry interface of every op.

Step 1 (both modes): ``m = max_pool(x, kernel_size, stride=1, padding, dilation)``
-- on every spatial axis the map ``m`` has
``L' = L + pad_begin + pad_end - dilation (k - 1)`` cells (the reference code uses
``k = 2`` and no padding, so ``L' = L - 1``). ``ceil_mode`` is accepted for a
uniform interface and has no effect at stride 1. ``stride`` (default
``kernel_size``) is the downsampling factor of step 2, ``grid_size`` (default
``stride``) its grid.

Step 2, ``mode="train"`` (default): on every axis ``a`` the *input* length ``L``
is cut into ``n = L // grid_size`` grids; grid ``j`` covers rows
``[j g, (j + 1) g)`` of ``m`` except the last, which runs to ``L'`` (it takes the
remainder, as in the reference code). From every grid ``g / stride`` distinct
rows are kept, in increasing order, so the axis has ``O = n g / stride``
outputs; the kept rows of all axes form a grid: ``y = m[..., r_1, r_2, ...]``
(``numpy.ix_``), shared by the whole batch and every channel. The kept rows are
the explicit, non-differentiable input ``indices``: one int array of length
``O_1 + ... + O_d``, axis 0's rows first (see :func:`s3_layout`,
:func:`s3_sample_indices`). In the reference sampler each grid's rows are a
uniformly random ``g/stride``-subset of the grid, sorted.

Step 2, ``mode="eval"``: deterministic; ``indices`` may be ``None`` and is ignored.
``eval_rule`` names the rule:

- ``"expectation"`` (default): the exact expectation of the training output over
  the reference sampler's draws. The axes are drawn independently, so on every
  axis output ``i`` of a grid of ``G`` rows that keeps ``P = g / stride`` of them
  is the ``i``-th smallest of a uniform ``P``-subset; it is row ``t`` (counted from
  the grid's start) with probability ``C(t, i) C(G - 1 - t, P - 1 - i) / C(G, P)``,
  and ``y`` is the average of ``m`` under the product of these weights over the
  axes. Same extent as train. With ``grid_size = stride`` (``P = 1``) every weight
  is ``1 / G``: average pooling of ``m`` over the aligned grids (kernel and stride
  ``s``, the last window running to ``L'`` as the last grid does, ``ceil_mode``
  style, padded cells excluded from the divisor);
- ``"padded"`` (the reference code's deterministic path): average pooling of ``m``
  with kernel ``stride``, stride ``stride``, padding ``stride // 2`` and padded
  cells excluded from the divisor (``count_include_pad=False``), extent
  ``floor((L' + 2 (s // 2) - s) / s) + 1``. Its windows are offset from the
  training grids by ``s // 2`` rows, so it is not the training output's
  expectation.

In the expectation rule's windows the taps of an output are its grid's rows
(``in_extent``), of which the rows it can take are ``real``: ``i`` rows before and
``P - 1 - i`` rows after them cannot be its ``i``-th smallest, so ``i`` and ``P``
are read off each window (every block of outputs included).

Derivatives are those of the composition: train ``y_dot = m_dot[rows]`` and the
cotangent is placed at the kept rows then sent through max pooling's VJP (first
maximizer); eval composes the max-pool derivatives with the (linear) average.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Sequence

import numpy as np

from . import geometry as geo
from .average import AVG_POOL
from .constraints import check_flag, fail
from .max import MAX_POOL
from .op import MODE, InputSpec, Op, Option, WindowKind


def _stage(cfg: dict) -> tuple[Op, dict]:
    """Step 1: the stride-1 max map ``m`` whose windows step 2 reads."""
    keys = ("kernel_size", "padding", "dilation")
    return MAX_POOL, {**{k: cfg[k] for k in keys}, "stride": 1}


def _input_extent(mapped, cfg) -> tuple[int, ...]:
    """The input's spatial shape ``L`` from the max map's ``L'`` (the stage's inverse:
    at stride 1 every padding form, "same" included, pads by a constant amount)."""
    d = len(mapped)
    kernel = geo.per_axis(cfg["kernel_size"], d, "kernel_size", "C2")
    dilation = geo.per_axis(cfg["dilation"], d, "dilation", "C4")
    pads = geo.resolve_padding(cfg["padding"], mapped, kernel, (1,) * d, dilation)
    return tuple(
        m - pb - pe + dl * (k - 1) for m, (pb, pe), k, dl in zip(mapped, pads, kernel, dilation)
    )


def _layout(mapped, cfg) -> list[dict]:
    return s3_layout((1, 1, *_input_extent(mapped, cfg)), **cfg)


EVAL_RULES = ("expectation", "padded")


def _eval_config(lay) -> dict:
    """The padded eval rule's average windows."""
    s = tuple(a["stride"] for a in lay)
    return {"kernel_size": s, "stride": s, "padding": tuple(v // 2 for v in s)}


def _padded(cfg) -> bool:
    return cfg["mode"] == "eval" and cfg["eval_rule"] == "padded"


@dataclasses.dataclass(frozen=True)
class GridBounds(Sequence):
    """The ``(start, end)`` rows of ``m`` of every grid on one axis, by arithmetic: grid
    ``j`` covers ``[j g, (j + 1) g)`` except the last, which runs to ``end`` (``L'``)."""

    grids: int  # n
    grid: int  # g
    end: int  # L'

    def __len__(self) -> int:
        return self.grids

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(self.grids))]
        j = operator.index(j)
        j = j + self.grids if j < 0 else j
        if not 0 <= j < self.grids:
            raise IndexError(f"grid {j} of {self.grids}")
        return j * self.grid, self.end if j == self.grids - 1 else (j + 1) * self.grid

    @property
    def longest(self) -> int:
        """The most rows any grid holds."""
        last = self.end - (self.grids - 1) * self.grid
        return max(last, self.grid) if self.grids > 1 else last


def _expectation_taps(length: int, a: dict) -> geo.AxisTaps:
    """One axis of the expectation rule: every output's taps are its grid's rows
    (``in_extent``, then filler up to the longest grid), ``real`` the rows its kept row
    can be."""
    per, taps = a["per_grid"], a["bounds"].longest
    t = np.arange(taps)
    position, real, inside = [], [], []
    for lo, hi in a["bounds"]:
        size = hi - lo
        for i in range(per):
            position.append(lo + t)
            inside.append(t < size)
            real.append((t >= i) & (t <= size - per + i))
    return geo.AxisTaps(
        length=length,
        position=np.array(position),
        real=np.array(real),
        in_extent=np.array(inside),
    )


def _geometry(mapped, cfg, arrays) -> geo.Geometry:
    """Step 2's windows on the max map: one cell per kept row (train), or the windows of
    the eval rule."""
    lay = _layout(mapped, cfg)
    if _padded(cfg):
        return geo.sliding_geometry(mapped, **_eval_config(lay))
    if cfg["mode"] == "eval":
        axes = tuple(_expectation_taps(n, a) for n, a in zip(mapped, lay))
        return geo.Geometry(spatial_in=tuple(mapped), axes=axes)
    indices = arrays[1]
    if indices is None:
        raise fail("C16", 's3_pool(mode="train") needs the sampled indices')
    axes = tuple(
        geo.AxisTaps(
            length=length, position=r[:, None], real=r[:, None] >= 0, in_extent=r[:, None] >= 0
        )
        for length, r in zip(mapped, kept_rows(indices, lay))
    )
    return geo.Geometry(spatial_in=tuple(mapped), axes=axes)


def _extent(mapped, cfg) -> tuple[int, ...]:
    lay = _layout(mapped, cfg)
    if _padded(cfg):
        return geo.sliding_axes(mapped, **_eval_config(lay)).out
    return tuple(a["out"] for a in lay)


def _axis_counts(taps: geo.AxisTaps):
    """``(num [O, K], den [O])`` of one expectation axis: the draws (``P``-subsets of
    the grid) in which each tap is the output's kept row, and all draws ``C(G, P)``."""
    num = np.zeros(taps.real.shape, dtype=np.int64)
    den = np.ones(taps.out, dtype=np.int64)
    for o in range(taps.out):
        rows = np.flatnonzero(taps.real[o])
        size = int(taps.in_extent[o].sum())
        if rows.size == 0:
            continue
        before, after = int(rows[0]), size - 1 - int(rows[-1])  # i and P - 1 - i
        for t in rows:
            num[o, t] = math.comb(int(t), before) * math.comb(size - 1 - int(t), after)
        den[o] = math.comb(size, before + after + 1)
    return num, den


def _expectation_weights(call):
    """``(num [*O, K], den [*O])``: the product over axes of :func:`_axis_counts` (the
    window's cells in row-major order)."""
    axes = call.geometry.axes
    d = len(axes)
    num, den = np.ones((), dtype=np.int64), np.ones((), dtype=np.int64)
    for a, taps in enumerate(axes):
        n_a, d_a = _axis_counts(taps)
        shape = [1] * (2 * d)
        shape[a], shape[d + a] = n_a.shape
        num = num * n_a.reshape(shape)
        den = den * d_a.reshape(shape[:d])
    out = tuple(t.out for t in axes)
    num = np.broadcast_to(num, out + tuple(t.taps for t in axes)).reshape(out + (-1,))
    return num, np.broadcast_to(den, out)


def _weights(call, like):
    """:func:`_expectation_weights` in the type of ``like`` (float64, or object for mpmath)."""
    num, den = _expectation_weights(call)
    dt = object if like.dtype == object else like.dtype
    return num.astype(dt), den.astype(dt)


def _weighted(w, call):
    """``sum_k num_k w_k / den``: the expectation of the kept value."""
    num, den = _weights(call, w)
    return (num * w).sum(axis=-1) / den


#: the padded eval rule's average: padded cells excluded from the divisor
EXCLUSIVE = {"count_include_pad": False, "divisor_override": None}


def _exclusive(call):
    return dataclasses.replace(call, options={**call.options, **EXCLUSIVE})


def _value(w, params, call):
    if call.options["mode"] == "train":
        return w[..., 0]
    if _padded(call.options):
        return AVG_POOL.value(w, (), _exclusive(call))
    return _weighted(w, call)


def _jvp(w, params, call, w_dot, param_dots):
    if call.options["mode"] == "train":
        return w_dot[..., 0]
    if _padded(call.options):
        return AVG_POOL.jvp_rule(w, (), _exclusive(call), w_dot, ())
    return _weighted(w_dot, call)


def _vjp(w, params, call, y_bar):
    if call.options["mode"] == "train":
        return y_bar[..., None], None
    if _padded(call.options):
        return (*AVG_POOL.vjp_rule(w, (), _exclusive(call), y_bar), None)
    num, den = _weights(call, w)
    return num / den[..., None] * y_bar[..., None], None


S3_WINDOWS = WindowKind("s3", dict(geo.SLIDING_KEYS), "kernel_size", _geometry, _extent)


def s3_layout(
    x_shape,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    grid_size=None,
    mode="train",
    eval_rule="expectation",
):
    """Per spatial axis: ``kernel``, ``stride``, ``grid``, ``mapped`` (``L'``), ``grids``
    (``n``), ``per_grid`` (``g / stride``), ``out`` (``n g / stride``), ``eval_out`` (the
    eval extent under ``eval_rule``) and ``bounds`` (the ``(start, end)`` of every grid in
    rows of ``m``, a :class:`GridBounds` sequence). Checks C1-C8, C21; integer
    arithmetic only, so any axis length is cheap.

    >>> [(a["mapped"], a["grids"], a["per_grid"], a["out"], list(a["bounds"]))
    ...  for a in s3_layout((1, 1, 8), kernel_size=2, grid_size=4)]
    [(7, 2, 2, 4, [(0, 4), (4, 7)])]
    """
    x_shape = tuple(x_shape)
    check_flag("ceil_mode", ceil_mode)  # no effect at stride 1, but a flag all the same
    d = geo.spatial_rank(len(x_shape), kernel_size)
    spatial = x_shape[-d:]
    kernel = geo.per_axis(kernel_size, d, "kernel_size", "C2")
    strides = kernel if stride is None else geo.per_axis(stride, d, "stride", "C3")
    grids = strides if grid_size is None else geo.per_axis(grid_size, d, "grid_size", "C21")
    mp = geo.sliding_axes(spatial, kernel_size=kernel, stride=1, padding=padding, dilation=dilation)
    out = []
    for a, (length, k, s, g) in enumerate(zip(spatial, kernel, strides, grids)):
        mapped = mp.out[a]
        if g % s:
            raise fail("C21", f"grid_size {g} on axis {a} is not a multiple of stride {s}")
        n, per = length // g, g // s
        if n < 1:
            raise fail("C21", f"input length {length} on axis {a} is shorter than grid_size {g}")
        bounds = GridBounds(grids=n, grid=g, end=mapped)
        if bounds[-1][1] - bounds[-1][0] < per:
            raise fail(
                "C21",
                f"the last grid on axis {a} holds {bounds[-1][1] - bounds[-1][0]} rows of the "
                f"stride-1 max map (length {mapped}) but {per} are kept per grid",
            )
        eval_out = (mapped + 2 * (s // 2) - s) // s + 1 if eval_rule == "padded" else n * per
        out.append(
            {
                "kernel": k,
                "stride": s,
                "grid": g,
                "mapped": mapped,
                "grids": n,
                "per_grid": per,
                "out": n * per,
                "eval_out": eval_out,
                "bounds": bounds,
            }
        )
    return out


def kept_rows(indices, lay):
    """Split and check the flat ``indices`` into one row array per axis (C21)."""
    idx = np.asarray(indices)
    total = sum(a["out"] for a in lay)
    if idx.shape != (total,) or (idx.size and idx.dtype.kind not in "iu"):
        raise fail("C21", f"indices must be {total} integers (got shape {idx.shape}, {idx.dtype})")
    rows, start = [], 0
    for axis, a in enumerate(lay):
        r = idx[start : start + a["out"]].astype(np.int64)
        start += a["out"]
        for j, (lo, hi) in enumerate(a["bounds"]):
            block = r[j * a["per_grid"] : (j + 1) * a["per_grid"]]
            if (block < lo).any() or (block >= hi).any() or (np.diff(block) <= 0).any():
                raise fail(
                    "C21",
                    f"indices {block.tolist()} of grid {j} on axis {axis} must be strictly "
                    f"increasing rows in [{lo}, {hi})",
                )
        rows.append(r)
    return rows


def s3_sample_indices(rng: np.random.Generator, x_shape, **cfg) -> np.ndarray:
    """Draw ``indices`` as the reference sampler does: per grid, a uniformly random
    ``g/stride``-subset of its rows, sorted; axes concatenated.

    >>> idx = s3_sample_indices(np.random.default_rng(0), (1, 1, 8, 8), kernel_size=2,
    ...                         grid_size=4)
    >>> idx.shape, bool(((idx[:2] < 4) & (idx[2:4] >= 4)).all())
    ((8,), True)
    """
    cfg.pop("mode", None)
    cfg.pop("eval_rule", None)
    parts = []
    for a in s3_layout(x_shape, **cfg):
        for lo, hi in a["bounds"]:
            parts.append(np.sort(lo + rng.permutation(hi - lo)[: a["per_grid"]]))
    return np.concatenate(parts).astype(np.int64)


S3_POOL = Op(
    name="s3_pool",
    empty_window=(
        "Step 1 is max_pool with its default: a window of the stride-1 max map with no "
        "real cell is -inf, with derivative 0; step 2 samples (mode='train') or "
        "averages (mode='eval') that map, so an output that reads only such cells is "
        "-inf. Step 2's own windows always hold a cell of the map."
    ),
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    input_specs=(
        InputSpec("x", "x"),
        InputSpec(
            "indices",
            "index",
            differentiable=False,
            domain="int64 [O_1 + ... + O_d]: per axis, per grid, sorted distinct rows (see "
            "s3_layout / s3_sample_indices); ignored in eval mode",
            optional=True,
            sampler=lambda rng, x_shape, **cfg: s3_sample_indices(rng, x_shape, **cfg),
        ),
    ),
    options=(Option("grid_size", None), MODE, Option("eval_rule", "expectation", EVAL_RULES)),
    windows=S3_WINDOWS,
    exact=lambda cfg: cfg["mode"] == "train",
    stage=_stage,
)


@S3_POOL.defines
def s3_pool(
    x,
    indices=None,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    grid_size=None,
    mode: str = "train",
    eval_rule: str = "expectation",
):
    """Stride-1 max pooling, then the kept rows ``indices`` of every axis (train), or in
    eval mode their expectation over the sampler's draws (``eval_rule="expectation"``)
    or the reference code's padded average (``"padded"``); see the module doc.

    >>> import numpy as np
    >>> x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]]])
    >>> MAX = [3.0, 4.0, 4.0, 5.0, 9.0, 9.0, 6.0]                 # stride-1 max, k = 2
    >>> s3_pool(x, np.array([1, 3, 4, 6]), kernel_size=2, grid_size=4)   # 2 of every 4
    array([[[4., 5., 9., 6.]]])
    >>> s3_pool(x, kernel_size=2, mode="eval")              # [3 4] [4 5] [9 9] [6]
    array([[[3.5, 4.5, 9. , 6. ]]])
    >>> s3_pool(x, kernel_size=2, mode="eval", eval_rule="padded")   # [3] [4 4] [5 9] [9 6]
    array([[[3. , 4. , 7. , 7.5]]])

    Two of every four rows: the first kept row is row 0, 1, 2 of its grid in 3, 2, 1 of
    the 6 draws, the second row 1, 2, 3 in 1, 2, 3:

    >>> s3_pool(x, kernel_size=2, grid_size=4, mode="eval")   # (9 + 8 + 4) / 6, ...
    array([[[3.5, 4.5, 9. , 7. ]]])
    """
    return S3_POOL.forward(
        x,
        indices,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        grid_size=grid_size,
        mode=mode,
        eval_rule=eval_rule,
    )
