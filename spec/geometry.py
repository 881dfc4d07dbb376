"""Window geometry: the one place that knows kernel, stride, padding, dilation and ceil_mode.

Every window op is *gather, reduce, scatter*. This module does gather and
scatter; the ops only reduce the last axis.

Layout: the input is ``[N, C, *S]`` (batched) or ``[C, *S]`` (unbatched) with
a spatial rank ``d >= 1``. Windows are described axis by axis: on an axis of
length ``L`` the output position ``o`` reads the taps
``o*stride - pad_begin + j*dilation`` for ``j = 0..kernel-1``. A tap is

- *real* when it lands in ``[0, L)`` (it reads an input cell),
- *in the padded extent* when it lands in ``[-pad_begin, L + pad_end)``
  (what ``count_include_pad`` counts; a ceil_mode window can overhang it).

An N-D window is the row-major product of its axes' taps: tap
``(j_1, ..., j_d)`` is window cell ``k = ((j_1*K_2 + j_2)*K_3 + ...)``, so
"first in row-major window order" means smallest ``k``.

Output extent on an axis (``eff = dilation*(kernel-1) + 1``)::

    out = floor((L + pad_begin + pad_end - eff) / stride) + 1       (ceil_mode=False)
    out = ceil((L + pad_begin + pad_end - eff) / stride) + 1        (ceil_mode=True)

and with ceil_mode a last window that would *start* in the end padding
(``(out-1)*stride >= L + pad_begin``) is dropped.

Any padding >= 0 is valid (no limit relative to the kernel: ONNX and TensorFlow's
explicit paddings take any). A window may then have no real cell -- it lies wholly in the
padding, or its dilated taps all miss the input -- and is an *empty window*: its cells are
all absent (``real`` is all False) and what it gives is each op's stated ``empty_window``
(max: -inf; a mean over real cells: NaN; ...). A padding limit is a capability some targets
declare (PyTorch: at most half the kernel, ``CAPABILITY_LIMITS["C6"]``), not a constraint.

>>> g = sliding_geometry((2,), kernel_size=(2,), stride=1, padding=((3, 0),))
>>> g.axes[0].position.tolist()          # the first two windows read padding only
[[-3, -2], [-2, -1], [-1, 0], [0, 1]]
>>> g.real.any(axis=-1).tolist()
[False, False, True, True]

Padding forms: an int; d ints (symmetric per axis); d ``(begin, end)`` pairs;
``"valid"`` (none); ``"same"`` / ``"same_lower"``: the total padding
``max((ceil(L/stride)-1)*stride + eff - L, 0)`` split in two halves, the odd
cell at the end for ``"same"`` (ONNX SAME_UPPER, TensorFlow SAME) and at the
beginning for ``"same_lower"``. The output extent is then ``ceil(L/stride)``.

>>> g = sliding_geometry((5,), kernel_size=(2,), stride=2, padding=0, ceil_mode=True)
>>> g.spatial_out
(3,)
>>> g.axes[0].position.tolist()          # the last window overhangs the input
[[0, 1], [2, 3], [4, 5]]
>>> g.axes[0].real.tolist()
[[True, True], [True, True], [True, False]]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .constraints import check_flag, fail
from .numeric import is_object

PADDING_STRINGS = ("valid", "same", "same_lower")


@dataclass(frozen=True)
class AxisTaps:
    """The taps of every window on one spatial axis, each array shaped ``[out, K]``."""

    length: int
    position: np.ndarray  # input coordinate of the tap (may lie outside [0, length))
    real: np.ndarray  # the tap reads an input cell
    in_extent: np.ndarray  # the tap lies inside the padded extent

    @property
    def out(self) -> int:
        return self.position.shape[0]

    @property
    def taps(self) -> int:
        return self.position.shape[1]


@dataclass(frozen=True)
class Geometry:
    """Where every window of an op reads, for one input spatial shape.

    ``index``, ``real`` and ``in_extent`` are shaped ``[*O, K]`` with ``K`` the
    number of cells of a window in row-major order; ``index`` is the flat
    row-major index of the cell in the ``[*S]`` plane, or -1 for a cell that is
    not real.
    """

    spatial_in: tuple[int, ...]
    axes: tuple[AxisTaps, ...]

    @property
    def d(self) -> int:
        return len(self.spatial_in)

    @property
    def spatial_out(self) -> tuple[int, ...]:
        return tuple(a.out for a in self.axes)

    @property
    def window_size(self) -> int:
        return math.prod(a.taps for a in self.axes)

    def _combine(self, per_axis: list[np.ndarray], op) -> np.ndarray:
        """Broadcast per-axis ``[O_a, K_a]`` arrays to ``[*O, *K]``, combine, flatten K."""
        d = self.d
        acc = None
        for a, arr in enumerate(per_axis):
            shape = [1] * (2 * d)
            shape[a], shape[d + a] = arr.shape
            term = arr.reshape(shape)
            acc = term if acc is None else op(acc, term)
        full = np.broadcast_to(acc, self.spatial_out + tuple(a.taps for a in self.axes))
        return np.ascontiguousarray(full).reshape(self.spatial_out + (self.window_size,))

    @cached_property
    def real(self) -> np.ndarray:
        return self._combine([a.real for a in self.axes], np.logical_and)

    @cached_property
    def in_extent(self) -> np.ndarray:
        return self._combine([a.in_extent for a in self.axes], np.logical_and)

    @cached_property
    def index(self) -> np.ndarray:
        strides = np.cumprod((1,) + self.spatial_in[:0:-1])[::-1]
        flat = self._combine(
            [np.clip(a.position, 0, a.length - 1) * s for a, s in zip(self.axes, strides)],
            np.add,
        )
        return np.where(self.real, flat, -1)

    def block(self, box: Sequence[slice]) -> Geometry:
        """The windows of the output positions in ``box`` (one ``slice`` per output axis,
        step 1): the same input plane, fewer windows."""
        axes = tuple(
            AxisTaps(a.length, a.position[s], a.real[s], a.in_extent[s])
            for a, s in zip(self.axes, box)
        )
        return Geometry(spatial_in=self.spatial_in, axes=axes)

    # -- gather / scatter -------------------------------------------------------------
    def gather(self, x: np.ndarray, fill) -> np.ndarray:
        """``[N, C, *S] -> [N, C, *O, K]``; cells that are not real hold ``fill``."""
        n, c = x.shape[:2]
        index, real = self.index, self.real
        flat = x.reshape(n, c, math.prod(self.spatial_in))  # explicit: N or C may be 0
        w = np.take(flat, np.where(real, index, 0), axis=2)
        return np.where(real, w, np.asarray(fill, dtype=x.dtype))

    def scatter(self, w_bar: np.ndarray, into: np.ndarray | None = None) -> np.ndarray:
        """The adjoint of :meth:`gather`: ``[N, C, *O, K] -> [N, C, *S]`` by summing
        every real cell's value into the input cell it was read from.

        Each input cell's sum is taken one term at a time, in row-major (window, cell)
        order, starting from 0 -- or from its value in ``into`` (an ``[N, C, *S]`` array,
        added to in place and returned): so scattering the windows of consecutive blocks
        of outputs into one array gives the same bits as scattering all at once.
        """
        n, c = w_bar.shape[:2]
        plane = math.prod(self.spatial_in)
        real = self.real.reshape(-1)
        index = self.index.reshape(-1)[real]
        contrib = w_bar.reshape(n * c, real.size)[:, real]
        if into is not None:
            flat = into.reshape(n * c, plane)  # a view: into is contiguous
            np.add.at(flat, (np.arange(n * c)[:, None], index[None, :]), contrib)
            return into
        if is_object(w_bar):
            out = np.zeros((n * c, plane), dtype=object)
            rows = np.arange(n * c)[:, None]
            np.add.at(
                out,
                (np.broadcast_to(rows, contrib.shape), np.broadcast_to(index, contrib.shape)),
                contrib,
            )
        else:
            flat_index = (np.arange(n * c)[:, None] * plane + index[None, :]).reshape(-1)
            out = np.bincount(flat_index, weights=contrib.reshape(-1), minlength=n * c * plane)
        return out.reshape((n, c) + self.spatial_in).astype(w_bar.dtype, copy=False)


# -- argument normalisation -------------------------------------------------------------
def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def per_axis(value, d: int, name: str, constraint: str) -> tuple[int, ...]:
    """An int or a length-d sequence of positive ints, as a d-tuple."""
    vals = (value,) * d if _is_int(value) else value
    if (
        not isinstance(vals, Sequence)
        or isinstance(vals, str)
        or len(vals) != d
        or not all(_is_int(v) and v >= 1 for v in vals)
    ):
        raise fail(constraint, f"{name}={value!r} must be a positive int or {d} positive ints")
    return tuple(int(v) for v in vals)


def spatial_rank(x_ndim: int, size_arg, name: str = "kernel_size") -> int:
    """d from a sequence ``kernel_size`` / ``output_size``, else ``ndim - 2``."""
    if isinstance(size_arg, Sequence) and not isinstance(size_arg, str):
        d = len(size_arg)
    else:
        d = x_ndim - 2
    if d < 1 or x_ndim not in (d + 1, d + 2):
        raise fail(
            "C1",
            f"input of rank {x_ndim} does not fit {name}={size_arg!r}: expected rank d+1 "
            f"(unbatched) or d+2 (batched) with spatial rank d >= 1 (here d = {d})",
        )
    return d


def resolve_padding(
    padding, spatial: Sequence[int], kernel, stride, dilation
) -> tuple[tuple[int, int], ...]:
    """Per-axis ``(begin, end)`` padding from any accepted padding form."""
    d = len(spatial)
    eff = [dl * (k - 1) + 1 for k, dl in zip(kernel, dilation)]
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding in ("same", "same_lower"):
            pads = []
            for length, e, s in zip(spatial, eff, stride):
                total = max((-(-length // s) - 1) * s + e - length, 0)
                small, big = total // 2, total - total // 2
                pads.append((small, big) if padding == "same" else (big, small))
            return tuple(pads)
        raise fail("C5", f"padding={padding!r} is not one of {PADDING_STRINGS}")
    entries = (padding,) * d if _is_int(padding) else padding
    pads = []
    if isinstance(entries, Sequence) and not isinstance(entries, str) and len(entries) == d:
        for e in entries:
            if _is_int(e):
                pads.append((int(e), int(e)))
            elif isinstance(e, Sequence) and len(e) == 2 and all(_is_int(v) for v in e):
                pads.append((int(e[0]), int(e[1])))
    if len(pads) != d or any(v < 0 for p in pads for v in p):
        raise fail(
            "C5",
            f"padding={padding!r} must be a non-negative int, {d} non-negative ints, {d} "
            f"(begin, end) pairs, or one of {PADDING_STRINGS}",
        )
    return tuple(pads)


def sliding_out(length: int, eff: int, stride: int, pad: tuple[int, int], ceil_mode: bool) -> int:
    """Output extent of one axis (see the module docstring)."""
    span = length + pad[0] + pad[1] - eff
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= length + pad[0]:
            out -= 1  # the last window would start in the end padding
    else:
        out = span // stride + 1
    return out


SLIDING_KEYS = {
    "kernel_size": None,
    "stride": None,
    "padding": 0,
    "dilation": 1,
    "ceil_mode": False,
}


@dataclass(frozen=True)
class SlidingAxes:
    """A sliding-window configuration resolved per axis (tuples of d Python ints)."""

    spatial: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    out: tuple[int, ...]

    @property
    def eff(self) -> tuple[int, ...]:
        """The effective (dilated) kernel ``dilation*(kernel-1)+1`` of every axis."""
        return tuple(dl * (k - 1) + 1 for k, dl in zip(self.kernel, self.dilation))


def sliding_axes(
    spatial: Sequence[int],
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
) -> SlidingAxes:
    """Check constraints C2-C5, C7, C8 and C22 and resolve every axis, by integer arithmetic
    only. Any padding >= 0 is valid: a window may lie wholly in the padding (every op states
    what such an *empty window* gives, ``Op.empty_window``); how far a target's own padding
    reaches is its capability limit (:data:`~ndpool.spec.constraints.CAPABILITY_LIMITS`)."""
    check_flag("ceil_mode", ceil_mode)
    d = len(spatial)
    kernel = per_axis(kernel_size, d, "kernel_size", "C2")
    stride = kernel if stride is None else per_axis(stride, d, "stride", "C3")
    dilation = per_axis(dilation, d, "dilation", "C4")
    pads = resolve_padding(padding, spatial, kernel, stride, dilation)
    if any(length < 1 for length in spatial):
        raise fail("C7", f"spatial input shape {tuple(spatial)} has an extent below 1")
    out = []
    for a, (length, k, s, dl, pad) in enumerate(zip(spatial, kernel, stride, dilation, pads)):
        eff = dl * (k - 1) + 1
        n = sliding_out(length, eff, s, pad, ceil_mode)
        if n < 1:
            raise fail(
                "C8",
                f"output extent {n} on axis {a}: input {length} + padding {pad} is shorter "
                f"than the effective kernel {eff} (kernel {k}, dilation {dl})",
            )
        out.append(n)
    return SlidingAxes(tuple(spatial), kernel, stride, dilation, pads, tuple(out))


def sliding_geometry(spatial: Sequence[int], **config) -> Geometry:
    """The sliding-window geometry of ``spatial`` under ``config`` (the keywords of
    :func:`sliding_axes`, which checks C2-C5, C7 and C8)."""
    r = sliding_axes(spatial, **config)
    axes = []
    for length, k, s, dl, pad, out in zip(r.spatial, r.kernel, r.stride, r.dilation, r.pads, r.out):
        big = max(out * s, k * dl, pad[0], pad[1], length) >= 2**62
        dtype = object if big else np.int64  # Python ints where int64 could overflow
        pos = (
            np.arange(out, dtype=dtype)[:, None] * s
            - pad[0]
            + np.arange(k, dtype=dtype)[None, :] * dl
        )
        real = (pos >= 0) & (pos < length)
        in_extent = (pos >= -pad[0]) & (pos < length + pad[1])
        if big:  # only real cells are read: every other position is kept as -1 or length
            pos = np.clip(pos, -1, length).astype(np.int64)
        axes.append(
            AxisTaps(
                length=length,
                position=pos,
                real=real.astype(bool),
                in_extent=in_extent.astype(bool),
            )
        )
    return Geometry(spatial_in=tuple(spatial), axes=tuple(axes))


def adaptive_extent(spatial: Sequence[int], output_size) -> tuple[int, ...]:
    """The output extent of adaptive pooling (checks C9 and C7): ``output_size`` with
    ``None`` entries replaced by the input's extent."""
    d = len(spatial)
    sizes = (output_size,) * d if _is_int(output_size) or output_size is None else output_size
    if (
        not isinstance(sizes, Sequence)
        or isinstance(sizes, str)
        or len(sizes) != d
        or not all(s is None or (_is_int(s) and s >= 1) for s in sizes)
    ):
        raise fail("C9", f"output_size={output_size!r} must be {d} positive ints or None")
    if any(length < 1 for length in spatial):
        raise fail("C7", f"spatial input shape {tuple(spatial)} has an extent below 1")
    return tuple(int(length if n is None else n) for length, n in zip(spatial, sizes))


def adaptive_geometry(spatial: Sequence[int], *, output_size) -> Geometry:
    """Adaptive bins: output cell ``i`` of ``n`` on an axis of length ``L`` reads
    ``[floor(i*L/n), ceil((i+1)*L/n))``.

    >>> g = adaptive_geometry((5,), output_size=(3,))
    >>> g.axes[0].position.tolist()           # bins [0, 2), [1, 4), [3, 5)
    [[0, 1, 2], [1, 2, 3], [3, 4, 5]]
    >>> g.axes[0].real.astype(int).tolist()
    [[1, 1, 0], [1, 1, 1], [1, 1, 0]]
    """
    sizes = adaptive_extent(spatial, output_size)
    axes = []
    for length, n in zip(spatial, sizes):
        big = (n + 1) * length >= 2**62  # Python ints where int64 could overflow
        i = np.arange(n, dtype=object if big else np.int64)
        start = (i * length) // n
        end = -((-(i + 1) * length) // n)
        taps = int((end - start).max())
        pos = start[:, None] + np.arange(taps, dtype=i.dtype)[None, :]
        real = (pos < end[:, None]).astype(bool)
        if big:  # only real cells are read: every position is below length + taps
            pos = np.minimum(pos, length).astype(np.int64)
        axes.append(AxisTaps(length=length, position=pos, real=real, in_extent=real))
    return Geometry(spatial_in=tuple(spatial), axes=tuple(axes))


def as_batched(x: np.ndarray, d: int) -> tuple[np.ndarray, bool]:
    """``[C, *S] -> [1, C, *S]``; returns the array and whether it was batched."""
    if x.ndim == d + 2:
        return x, True
    return x[None], False
