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


def _freeze(v):
    """Lists -> tuples so a config can key the cache."""
    if isinstance(v, list | tuple):
        return tuple(_freeze(e) for e in v)
    return v


def sliding_plan(
    shape: Sequence[int], *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
) -> Plan:
    """Check C1-C8 exactly as the spec does and resolve the per-axis plan."""
    return _sliding_plan(
        tuple(int(n) for n in shape), _freeze(kernel_size), _freeze(stride), _freeze(padding),
        _freeze(dilation), bool(ceil_mode),
    )  # fmt: skip


# torch.compile does not trace the (NumPy) spec geometry: a plan is a constant of the
# static shape and config, computed once in Python.
@torch.compiler.assume_constant_result
def _sliding_plan(shape, kernel_size, stride, padding, dilation, ceil_mode) -> Plan:
    return _resolve_sliding(shape, kernel_size, stride, padding, dilation, ceil_mode)


@functools.lru_cache(maxsize=512)
def _resolve_sliding(shape, kernel_size, stride, padding, dilation, ceil_mode) -> Plan:
    d = geo.spatial_rank(len(shape), kernel_size, "kernel_size")
    spatial = shape[-d:]
    g = geo.sliding_geometry(
        spatial,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
    kernel = geo.per_axis(kernel_size, d, "kernel_size", "C2")
    strides = kernel if stride is None else geo.per_axis(stride, d, "stride", "C3")
    dilations = geo.per_axis(dilation, d, "dilation", "C4")
    pads = geo.resolve_padding(padding, spatial, kernel, strides, dilations)
    axes = [
        sliding_axis(
            t.length,
            t.out,
            k,
            s,
            dl,
            p,
            tuple(int(c) for c in t.real.sum(axis=1)),
            tuple(int(c) for c in t.in_extent.sum(axis=1)),
            (t.position, t.real),
        )
        for t, k, s, dl, p in zip(g.axes, kernel, strides, dilations, pads)
    ]
    return plan(d, len(shape) == d + 2, spatial, axes)


def adaptive_plan(shape: Sequence[int], *, output_size) -> Plan:
    """Check C1, C7, C9 exactly as the spec does and resolve the adaptive bins."""
    return _adaptive_plan(tuple(int(n) for n in shape), _freeze(output_size))


@torch.compiler.assume_constant_result
def _adaptive_plan(shape, output_size) -> Plan:
    return _resolve_adaptive(shape, output_size)


@functools.lru_cache(maxsize=512)
def _resolve_adaptive(shape, output_size) -> Plan:
    d = geo.spatial_rank(len(shape), output_size, "output_size")
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
