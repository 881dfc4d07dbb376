"""Resolved window geometry for the Triton kernels, one entry per spatial axis.

The kernels take no user configuration: the caller resolves kernel size, stride,
padding, dilation and ceil_mode first (the spec's geometry does that and checks the
constraints) and passes an :class:`Axes`. On an axis of length ``L``:

- a *sliding* window ``o`` reads the taps ``o*stride - pad_begin + j*dilation`` for
  ``j = 0 .. kernel-1``; a tap is *real* in ``[0, L)`` and *inside the padded extent*
  in ``[-pad_begin, L + pad_end)``;
- an *adaptive* bin ``o`` of ``n = out`` covers ``[floor(o*L/n), ceil((o+1)*L/n))``;
  ``kernel`` is then the largest bin (the taps the kernels walk; a shorter bin masks
  the rest) and stride, dilation and padding are unused.

An N-D window is the row-major product of its axes' taps, the last axis fastest, so
"first in window order" means the smallest row-major tap number.

>>> a = sliding_axes((5,), kernel=(2,), stride=(2,), dilation=(1,), pads=((0, 0),), out=(3,))
>>> a.d, a.window_size, a.candidates
(1, 2, (2,))
>>> b = adaptive_axes((5,), (3,))                 # bins [0, 2), [1, 4), [3, 5)
>>> b.kernel, b.candidates                        # largest bin 3; a cell is in <= 2 bins
((3,), (2,))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Axes:
    """Per-axis window geometry (``d = len(length)`` spatial axes).

    ``length`` is the input extent, ``out`` the output extent; ``kernel``, ``stride``,
    ``dilation``, ``pad_begin`` and ``pad_end`` describe sliding windows; ``adaptive``
    marks adaptive bins (then ``kernel`` is the largest bin on the axis).
    """

    length: tuple[int, ...]
    out: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad_begin: tuple[int, ...]
    pad_end: tuple[int, ...]
    adaptive: bool = False

    @property
    def d(self) -> int:
        return len(self.length)

    @property
    def window_size(self) -> int:
        """``K``: the taps of one window, ``prod(kernel)``."""
        return math.prod(self.kernel)

    @property
    def candidates(self) -> tuple[int, ...]:
        """Per axis, the most windows one input cell can lie in: ``kernel`` for sliding
        windows (one per tap), the most bins covering a cell for adaptive bins."""
        if self.adaptive:
            return tuple(_largest_bin(n, length) for length, n in zip(self.length, self.out))
        return self.kernel


def _largest_bin(length: int, n: int) -> int:
    """``max_i ceil((i+1)*L/n) - floor(i*L/n)`` over the ``n`` bins of an axis of length
    ``L``, in closed form: with ``q, r = divmod(L, n)`` and ``g = gcd(L, n)`` a bin holds
    ``q`` cells plus one if it straddles a multiple of ``n`` at its start (``r > 0``) and one
    more if it also straddles one at its end, which some bin does exactly when ``r >= 2g``.
    Swapping the roles (``_largest_bin(n, L)``) counts the most bins covering one cell."""
    q, r = divmod(length, n)
    if r == 0:
        return q
    return q + 2 if r >= 2 * math.gcd(length, n) else q + 1


def _tuple(values: Sequence[int], d: int, name: str) -> tuple[int, ...]:
    out = tuple(int(v) for v in values)
    if len(out) != d:
        raise ValueError(f"{name}={tuple(values)!r} has {len(out)} entries; expected {d}")
    return out


def sliding_axes(
    spatial_shape: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    pads: Sequence[tuple[int, int]],
    out: Sequence[int],
) -> Axes:
    """Sliding windows; ``pads`` holds one ``(begin, end)`` pair per axis and ``out`` the
    output extents as the spec computes them (``spec.output_shape``)."""
    d = len(spatial_shape)
    pads = [tuple(p) for p in pads]
    if len(pads) != d or any(len(p) != 2 for p in pads):
        raise ValueError(f"pads={pads!r} must be {d} (begin, end) pairs")
    return Axes(
        length=_tuple(spatial_shape, d, "spatial_shape"),
        out=_tuple(out, d, "out"),
        kernel=_tuple(kernel, d, "kernel"),
        stride=_tuple(stride, d, "stride"),
        dilation=_tuple(dilation, d, "dilation"),
        pad_begin=tuple(int(p[0]) for p in pads),
        pad_end=tuple(int(p[1]) for p in pads),
    )


def adaptive_axes(spatial_shape: Sequence[int], output_size: Sequence[int]) -> Axes:
    """Adaptive bins: output cell ``i`` of ``n`` on an axis of length ``L`` covers
    ``[floor(i*L/n), ceil((i+1)*L/n))``."""
    d = len(spatial_shape)
    length = _tuple(spatial_shape, d, "spatial_shape")
    out = _tuple(output_size, d, "output_size")
    return Axes(
        length=length,
        out=out,
        kernel=tuple(_largest_bin(L, n) for L, n in zip(length, out)),
        stride=(1,) * d,
        dilation=(1,) * d,
        pad_begin=(0,) * d,
        pad_end=(0,) * d,
        adaptive=True,
    )
