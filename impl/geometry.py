"""Config resolution: the spec's geometry, turned into per-axis plans for torch.

The shape arithmetic and every constraint check (C1-C9) are the spec's own
(:mod:`ndpool.spec.geometry`); this module only condenses the spec's per-axis
taps into the few numbers a separable torch reduction needs, and caches them
per (shape, config).

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
from dataclasses import dataclass

import numpy as np
import torch

from ndpool.spec import geometry as geo
from ndpool.spec.constraints import ConstraintError, fail


@dataclass(frozen=True)
class SlidingAxis:
    """One axis of a sliding-window op (plain fields: torch.compile reads them as constants)."""

    length: int
    out: int
    kernel: int
    stride: int
    dilation: int
    pad_begin: int
    pad_end: int
    real_count: tuple[int, ...]  # real taps of every output position
    extent_count: tuple[int, ...]  # taps inside the padded extent
    taps: int  # = kernel
    eff: int  # dilation * (kernel - 1) + 1
    pad_after: int  # cells to append so unfold yields exactly `out` windows (< 0: trim)
    has_absent: bool  # some window has a tap that reads no input cell
    has_empty: bool  # some window reads no input cell at all (possible with dilation)
    unread: tuple[int, ...]  # input cells no window reads
    first_real: tuple[int, ...]  # the first real tap of every window (0 if none)


def sliding_axis(length, out, kernel, stride, dilation, pad, real_count, extent_count, real):
    eff = dilation * (kernel - 1) + 1
    return SlidingAxis(
        length=length,
        out=out,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        pad_begin=pad[0],
        pad_end=pad[1],
        real_count=real_count,
        extent_count=extent_count,
        taps=kernel,
        eff=eff,
        pad_after=(out - 1) * stride + eff - length - pad[0],
        has_absent=min(real_count) < kernel,
        has_empty=min(real_count) == 0,
        unread=tuple(sorted(set(range(length)) - set(real[0][real[1]].tolist()))),
        first_real=tuple(int(j) for j in real[1].argmax(axis=1)),
    )


@dataclass(frozen=True)
class AdaptiveAxis:
    """One axis of an adaptive op: bin ``i`` reads ``[start_i, end_i)``."""

    length: int
    out: int
    taps: int
    real_count: tuple[int, ...]
    index: tuple[int, ...]  # [out * taps] input index of every tap (short bins repeat)
    real: tuple[bool, ...]  # [out * taps] whether the tap is inside its bin
    has_repeats: bool
    has_absent: bool = False  # short bins repeat a real cell; sums mask the repeats
    has_empty: bool = False


def adaptive_axis(length: int, position: np.ndarray, real: np.ndarray) -> AdaptiveAxis:
    start = position[:, :1]
    count = real.sum(axis=1)
    index = np.minimum(position, start + count[:, None] - 1)
    return AdaptiveAxis(
        length=length,
        out=position.shape[0],
        taps=position.shape[1],
        real_count=tuple(int(c) for c in count),
        index=tuple(int(i) for i in index.reshape(-1)),
        real=tuple(bool(r) for r in real.reshape(-1)),
        has_repeats=bool((~real).any()),
    )


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
        position = np.arange(n)[:, None] * s - p[0] + np.arange(k)[None, :] * dl
        real = (position >= 0) & (position < length)
        in_extent = (position >= -p[0]) & (position < length + p[1])
        axes.append(
            sliding_axis(
                length,
                n,
                k,
                s,
                dl,
                p,
                tuple(int(c) for c in real.sum(axis=1)),
                tuple(int(c) for c in in_extent.sum(axis=1)),
                (position, real),
            )
        )
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
    g = geo.adaptive_geometry(spatial, output_size=output_size)
    axes = [adaptive_axis(t.length, t.position, t.real) for t in g.axes]
    return plan(d, len(shape) == d + 2, spatial, axes)


def per_output(counts: list[tuple[int, ...]], dtype, device) -> torch.Tensor:
    """The product over axes of per-axis counts, shaped ``[*O]`` (a separable divisor)."""
    d = len(counts)
    total = None
    for a, c in enumerate(counts):
        shape = [1] * d
        shape[a] = len(c)
        term = torch.tensor(c, dtype=dtype, device=device).reshape(shape)
        total = term if total is None else total * term
    return total
