"""Config resolution: the spec's geometry, turned into per-axis plans for torch.

The shape arithmetic and every constraint check (C1-C9) are the spec's own
(:mod:`ndpool.spec.geometry`); this module only condenses a configuration into the
few numbers per axis a separable torch reduction needs (starts, strides, counts:
O(d) ints, never one entry per position), and caches them per (shape, config) in a
bounded cache.

A *sliding* axis is read after padding (strided tap views or ``Tensor.unfold``): ``pad_begin``
cells before the input, ``pad_after`` after it (``pad_end`` of which lie in the
padded extent, the rest is ceil_mode overhang; a negative ``pad_after`` means
the tail of the input is never read). An *adaptive* axis is read by index:
tap ``j`` of bin ``i`` is ``min(start_i + j, end_i - 1)``, so a short bin
repeats its last cell (harmless for max, masked for sums).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ndpool.spec import geometry as geo
from ndpool.spec.constraints import ConstraintError, fail


def _ceil_div(a, b):
    return -((-a) // b)


@dataclass(frozen=True)
class TapCounts:
    """How many taps of every window of a sliding axis lie in the range ``[low, high)``,
    as a formula: tap ``j`` of window ``i`` lies at ``i*stride - offset + j*dilation``
    (``offset`` = the padding before the input). A few ints whatever the padding and
    kernel: the counts themselves are made by :func:`counts_tensor` when needed.

    The first ``head`` windows reach below ``low``, the last ``tail`` of the others
    reach past ``high - 1``; every window between them counts ``kernel``."""

    out: int
    kernel: int
    stride: int
    dilation: int
    offset: int
    low: int
    high: int
    head: int
    tail: int
    least: int = field(init=False)  # the smallest count (least_count, by arithmetic)

    def __post_init__(self):
        object.__setattr__(self, "least", least_count(self))  # a constant to torch.compile

    def count(self, i: int) -> int:
        """The taps of window ``i`` in the range (Python ints: exact for any size)."""
        begin = i * self.stride - self.offset
        first = max(0, _ceil_div(self.low - begin, self.dilation))
        last = min(self.kernel - 1, (self.high - 1 - begin) // self.dilation)
        return max(0, last - first + 1)


@dataclass(frozen=True)
class BinWidths:
    """The widths of the ``out`` adaptive bins of an axis of ``length`` cells."""

    length: int
    out: int
    least: int = 1  # the narrowest bin (every bin holds a cell)


@dataclass(frozen=True)
class SlidingAxis:
    """One axis of a sliding-window op: a few ints (torch.compile reads them as
    constants); per-window counts only where windows reach into the padding."""

    length: int
    out: int
    kernel: int
    stride: int
    dilation: int
    pad_begin: int
    pad_end: int
    taps: int  # = kernel
    eff: int  # dilation * (kernel - 1) + 1
    pad_after: int  # cells to append so unfold yields exactly `out` windows (< 0: trim)
    has_absent: bool  # some window has a tap that reads no input cell
    has_empty: bool  # some window reads no input cell at all (possible with dilation)
    may_skip: bool  # some input cell may be read by no window (False: all are read)
    real_count: TapCounts  # real taps of every output position
    extent_count: TapCounts  # taps inside the padded extent


def tap_counts(length, out, kernel, stride, dilation, pad_begin, low, high) -> TapCounts:
    """The taps of every window in ``[low, high)``; tap ``j`` of window ``i`` lies at
    ``i*stride - pad_begin + j*dilation``. Python ints: exact for any size, O(1) work
    (``length`` is the axis the windows read; the range is its part being counted)."""
    eff = dilation * (kernel - 1) + 1
    head = min(out, max(0, _ceil_div(low + pad_begin, stride)))  # windows starting below low
    tail = out - min(out, max(head, (high - eff + pad_begin) // stride + 1))  # past high
    return TapCounts(
        out=out,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        offset=pad_begin,
        low=low,
        high=high,
        head=head,
        tail=tail,
    )


def least_count(c: TapCounts) -> int:
    """The smallest count of :class:`TapCounts` ``c``, by arithmetic (O(log) work).

    Let ``u = low - begin`` be how far window ``i`` starts below the range (``u`` falls
    as ``i`` grows) and ``L = high - low``. Where ``u <= 0`` (the window starts in the
    range) its count only falls as ``u`` falls: the least is the last window's. Where
    the window starts below the range and ends in it, its count only falls as ``u``
    grows: the least is the first window's. Between them, windows that span the range
    (``0 < u <= (kernel-1)*dilation - L``) hold the cells of the range congruent to their
    start modulo the dilation: ``L // dilation`` of them, plus one where the start's
    residue ``t = (begin - low) mod dilation`` is below ``L mod dilation``; whether some
    spanning window's residue is not below it is counted by :func:`floor_sum`.
    """
    least = min(c.count(0), c.count(c.out - 1))
    length = c.high - c.low
    q, r = divmod(length, c.dilation)
    # the spanning windows: i*stride in [low + offset - (kernel-1)*dilation + L, low + offset - 1]
    first = max(0, _ceil_div(c.low + c.offset - (c.kernel - 1) * c.dilation + length, c.stride))
    last = min(c.out - 1, (c.low + c.offset - 1) // c.stride)
    if first > last:
        return least
    if r == 0:
        return min(least, q)
    # residues t_i = (a i' + b) mod m of the spanning windows i = first + i', i' < n
    n, m = last - first + 1, c.dilation
    a, b = c.stride % m, (first * c.stride - c.offset - c.low) % m
    reaching = floor_sum(n, m, a, b + m - r) - floor_sum(n, m, a, b)  # residues >= r
    return min(least, q if reaching else q + 1)


def floor_sum(n: int, m: int, a: int, b: int) -> int:
    """``sum(floor((a*i + b) / m) for i in range(n))`` for ``n >= 0``, ``m >= 1`` and
    ``a, b >= 0``, by Euclid's reduction (O(log m) steps, Python ints).
    ``floor((v + m - r) / m) - floor(v / m)`` is 1 exactly where ``v mod m >= r``
    (``0 < r <= m``), so a difference of two such sums counts residues at or above ``r``.

    >>> floor_sum(5, 3, 2, 1) == sum((2 * i + 1) // 3 for i in range(5))
    True
    """
    total = 0
    while n > 0:
        total += (n - 1) * n // 2 * (a // m) + n * (b // m)
        a, b = a % m, b % m
        top = a * n + b  # the last term's numerator, plus a
        if top < m:
            break
        n, b, m, a = top // m, top % m, a, m
    return total


def read_mask(ax: SlidingAxis, device=None) -> torch.Tensor:
    """``[length]`` bool: the input cells some window reads (one strided slice per tap)."""
    read = torch.zeros(ax.length, dtype=torch.bool, device=device)
    for j in range(ax.kernel):
        # window i reads cell i * stride + j * dilation - pad_begin at tap j
        offset = j * ax.dilation - ax.pad_begin
        first = max(0, _ceil_div(-offset, ax.stride))
        last = min(ax.out - 1, (ax.length - 1 - offset) // ax.stride)
        if last >= first:
            start = first * ax.stride + offset
            read[start : start + (last - first) * ax.stride + 1 : ax.stride] = True
    return read


def sliding_axis(length, out, kernel, stride, dilation, pad) -> SlidingAxis:
    eff = dilation * (kernel - 1) + 1
    pad_after = (out - 1) * stride + eff - length - pad[0]
    real = tap_counts(length, out, kernel, stride, dilation, pad[0], 0, length)
    return SlidingAxis(
        length=length,
        out=out,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        pad_begin=pad[0],
        pad_end=pad[1],
        taps=kernel,
        eff=eff,
        pad_after=pad_after,
        has_absent=pad[0] > 0 or pad_after > 0,
        has_empty=real.least == 0,
        may_skip=stride > 1 or dilation > 1 or pad_after < 0,
        real_count=real,
        extent_count=tap_counts(
            length, out, kernel, stride, dilation, pad[0], -pad[0], length + pad[1]
        ),
    )


@dataclass(frozen=True)
class AdaptiveAxis:
    """One axis of an adaptive op: bin ``i`` of ``out`` reads
    ``[floor(i*length/out), ceil((i+1)*length/out))``; ``taps`` is the widest bin."""

    length: int
    out: int
    taps: int
    has_repeats: bool  # some bin is narrower than ``taps``
    real_count: BinWidths
    has_absent: bool = False  # short bins repeat a real cell; sums mask the repeats
    has_empty: bool = False


def _bins(length: int, out: int, device=None):
    i = torch.arange(out, dtype=torch.int64, device=device)
    start = torch.div(i * length, out, rounding_mode="floor")
    end = -torch.div(-(i + 1) * length, out, rounding_mode="floor")
    return start, end


def bin_index(ax: AdaptiveAxis, device=None) -> torch.Tensor:
    """``[out, taps]``: the input index of every tap (a short bin repeats its last cell)."""
    start, end = _bins(ax.length, ax.out, device)
    j = torch.arange(ax.taps, dtype=torch.int64, device=device)
    return torch.minimum(start[:, None] + j, end[:, None] - 1)


def bin_real(ax: AdaptiveAxis, device=None) -> torch.Tensor:
    """``[out, taps]`` bool: whether the tap is inside its bin."""
    start, end = _bins(ax.length, ax.out, device)
    j = torch.arange(ax.taps, dtype=torch.int64, device=device)
    return start[:, None] + j < end[:, None]


def adaptive_axis(length: int, out: int) -> AdaptiveAxis:
    """The bins by arithmetic: with ``length = q*out + r``, bin ``i`` has
    ``q + ceil((i+1) r/out) - floor(i r/out)`` cells, ``q + 1`` or ``q + 2`` when
    ``r > 0``; ``q + 2`` occurs exactly when ``r`` does not divide ``out`` (the residues
    ``i r mod out`` reach ``out - gcd(r, out)``, above ``out - r``)."""
    q, r = divmod(length, out)
    wide = r > 0 and out % r != 0
    taps = q + (0 if r == 0 else 2 if wide else 1)
    return AdaptiveAxis(
        length=length, out=out, taps=taps, has_repeats=wide, real_count=BinWidths(length, out)
    )


def counts_tensor(c, device=None) -> torch.Tensor:
    """``[out]`` int64 from :class:`TapCounts` (the formula, on ``torch.arange(out)``),
    :class:`BinWidths` or a sequence."""
    if isinstance(c, TapCounts):
        begin = torch.arange(c.out, dtype=torch.int64, device=device) * c.stride - c.offset
        first = -torch.div(begin - c.low, c.dilation, rounding_mode="floor")  # ceil((low-b)/dl)
        last = torch.div(c.high - 1 - begin, c.dilation, rounding_mode="floor")
        return (last.clamp(max=c.kernel - 1) - first.clamp(min=0) + 1).clamp(min=0)
    if isinstance(c, BinWidths):
        start, end = _bins(c.length, c.out, device)
        return end - start
    return torch.tensor(c, dtype=torch.int64, device=device)


@dataclass(frozen=True)
class Plan:
    """The resolved geometry of one call: spatial rank, batching and per-axis plans."""

    d: int
    batched: bool
    spatial_in: tuple[int, ...]
    axes: tuple
    spatial_out: tuple[int, ...]
    window_size: int
    kernel: tuple[int, ...] | None  # sliding plans only
    stride: tuple[int, ...] | None
    dilation: tuple[int, ...] | None
    symmetric_padding: tuple[int, ...] | None  # per-axis padding if begin == end everywhere


def plan(d: int, batched: bool, spatial_in, axes) -> Plan:
    sliding = all(isinstance(a, SlidingAxis) for a in axes)
    symmetric = sliding and all(a.pad_begin == a.pad_end for a in axes)
    return Plan(
        d=d,
        batched=batched,
        spatial_in=tuple(spatial_in),
        axes=tuple(axes),
        spatial_out=tuple(a.out for a in axes),
        window_size=math.prod(a.taps for a in axes),
        kernel=tuple(a.kernel for a in axes) if sliding else None,
        stride=tuple(a.stride for a in axes) if sliding else None,
        dilation=tuple(a.dilation for a in axes) if sliding else None,
        symmetric_padding=tuple(a.pad_begin for a in axes) if symmetric else None,
    )


def sliding_plan(
    shape: Sequence[int], *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
) -> Plan:
    """Check C1-C8 and C22 exactly as the spec does, on every call, then look the plan up
    by the configuration the check resolved (so a cached plan never stands in for a check:
    ``kernel_size=2.0`` fails after ``kernel_size=2`` succeeded)."""
    shape = tuple(int(n) for n in shape)
    return raised(_sliding_plan(shape, kernel_size, stride, padding, dilation, ceil_mode))


def raised(result):
    """A checked result: the value, or the message of the constraint the input broke,
    raised as the spec's error. The checks run outside torch.compile's tracing
    (``assume_constant_result``: a constant of the static shapes and configuration), and
    an error raised there would reach the caller as an internal compiler error: it is
    returned as its message and raised here, in traced code, instead."""
    if isinstance(result, str):
        constraint, message = result.split(": ", 1)
        raise fail(constraint, message)
    return result


@torch.compiler.assume_constant_result
def _sliding_plan(shape, kernel_size, stride, padding, dilation, ceil_mode) -> Plan | str:
    try:
        d = geo.spatial_rank(len(shape), kernel_size, "kernel_size")
        r = geo.sliding_axes(
            shape[-d:],
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
        )
    except ConstraintError as exc:
        return str(exc)
    return _resolve_sliding(shape, r.kernel, r.stride, r.dilation, r.pads, r.out)


@functools.lru_cache(maxsize=512)
def _resolve_sliding(shape, kernel, stride, dilation, pads, out) -> Plan:
    d = len(kernel)
    spatial = shape[-d:]
    axes = []
    for length, k, s, dl, p, n in zip(spatial, kernel, stride, dilation, pads, out):
        # a stride or dilation that cannot matter is brought into C long's range (a valid
        # 2**70 would overflow the index arithmetic and torch's kernels): one window per
        # axis is one window whatever the stride past the padded extent (PyTorch's output
        # size agrees, also under ceil_mode), one tap whatever the dilation
        if n == 1:
            s = min(s, max(1, length + p[0] + p[1]))
        if k == 1:
            dl = 1
        axes.append(sliding_axis(length, n, k, s, dl, p))
    return plan(d, len(shape) == d + 2, spatial, axes)


def adaptive_plan(shape: Sequence[int], *, output_size) -> Plan:
    """Check C1, C7, C9 exactly as the spec does (every call) and resolve the bins."""
    return raised(_adaptive_plan(tuple(int(n) for n in shape), output_size))


@torch.compiler.assume_constant_result
def _adaptive_plan(shape, output_size) -> Plan | str:
    try:
        d = geo.spatial_rank(len(shape), output_size, "output_size")
        sizes = geo.adaptive_extent(shape[-d:], output_size)
    except ConstraintError as exc:
        return str(exc)
    return _resolve_adaptive(shape, sizes)


@functools.lru_cache(maxsize=512)
def _resolve_adaptive(shape, output_size) -> Plan:
    d = len(output_size)
    spatial = shape[-d:]
    axes = [adaptive_axis(length, n) for length, n in zip(spatial, output_size)]
    return plan(d, len(shape) == d + 2, spatial, axes)


def per_output(counts: list, dtype, device) -> torch.Tensor:
    """The product over axes of per-axis counts (:func:`counts_tensor`), shaped ``[*O]``
    (a separable divisor)."""
    d = len(counts)
    total = None
    for a, c in enumerate(counts):
        term = counts_tensor(c, device).to(dtype)
        shape = [1] * d
        shape[a] = term.shape[0]
        term = term.reshape(shape)
        total = term if total is None else total * term
    return total
