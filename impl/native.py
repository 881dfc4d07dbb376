"""When a native ``torch.nn.functional`` pooling kernel computes exactly the spec.

PyTorch's max/avg pooling kernels (d <= 3) agree with the spec on output size,
ceil_mode's dropped last window, tie-breaking (first maximizer) and the avg
divisor rules, but differ where the spec is stricter:

- max pooling with NaN: PyTorch's index (hence its gradient) goes to the *last*
  NaN of a window, the spec's to the first. Values agree, so the native kernel
  is used for values always, and for indices / gradients only after checking
  that its output holds no NaN (no window read a NaN; a check that needs a
  concrete tensor: under ``torch.compile`` or ``torch.func`` transforms the
  separable path is used);
- padding: PyTorch takes symmetric padding <= kernel/2 only (the spec also
  takes (begin, end) pairs, "same", and padding up to half the *dilated*
  kernel); with dilation a window may hold padding only, which PyTorch does
  not represent, so max takes the native path with dilation only unpadded;
- avg pooling has no dilation in PyTorch, and avg_pool1d no divisor_override;
  avg_pool3d also rejects an input shorter than the kernel on an axis, even when
  the padding makes the window fit;
- d > 3 has no native kernel.

A native kernel costs ``prod(kernel)`` per output, i.e. ``prod(kernel) /
prod(stride)`` per input cell, against about ``sum(kernel)`` per input cell for
the separable reduction; it is considered while that density is at most
``NATIVE_DENSITY_LIMIT`` (for max with indices: 2-D 3x3, 4x4 and strided 5x5, 3-D
2x2x2 and strided 3x3x3 stay native; 2-D 5x5 and 3-D 3x3x3 at stride 1 go separable).
On CPU the tap-by-tap separable reductions are faster still for max values (d >= 2)
and for most window sums: :func:`separable_max_values` and
:func:`separable_sums_faster` decide. ``benchmarks/impl_vs_torch.py`` times both sides
of every rule (docs/impl-benchmarks.md).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .geometry import Plan, SlidingAxis

NATIVE_DENSITY_LIMIT = 16

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_ADAPTIVE_MAX = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}
_ADAPTIVE_AVG = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}


def is_traced(x: torch.Tensor) -> bool:
    """Under torch.compile or a torch.func transform (no data-dependent branching)."""
    return torch.compiler.is_compiling() or torch._C._functorch.is_functorch_wrapped_tensor(x)


def in_forward_ad() -> bool:
    """Inside a forward-mode AD level (``torch.autograd.forward_ad.dual_level``)."""
    return torch.autograd.forward_ad._current_level >= 0


def tracks_derivatives(x: torch.Tensor) -> bool:
    """Whether a derivative of the output may be asked for (autograd, forward AD, func;
    compiled: autograd only, the others are not traced by dynamo)."""
    if torch.compiler.is_compiling():
        return torch.is_grad_enabled() and x.requires_grad
    return (
        (torch.is_grad_enabled() and x.requires_grad)
        or torch._C._functorch.is_functorch_wrapped_tensor(x)
        or in_forward_ad()
    )


def _sliding_ok(plan: Plan, x: torch.Tensor) -> bool:
    return (
        plan.d <= 3
        and x.numel() > 0
        and all(isinstance(a, SlidingAxis) for a in plan.axes)
        and plan.symmetric_padding is not None
        and all(2 * a.pad_begin <= a.kernel for a in plan.axes)
        and plan.window_size <= NATIVE_DENSITY_LIMIT * math.prod(plan.stride)
    )


def max_pool_applies(plan: Plan, x: torch.Tensor) -> bool:
    """Geometry only; the NaN condition is checked on the output by the caller."""
    return _sliding_ok(plan, x) and not any(a.dilation > 1 and a.pad_begin > 0 for a in plan.axes)


def _channels_last_faster(plan: Plan, x: torch.Tensor) -> bool:
    """PyTorch's CPU max_pool2d with indices is vectorized over channels in channels_last
    layout only; with 4 or more channels and overlapping windows (more than 4 cells per
    output stride) converting a contiguous input there (and the outputs back) is faster
    (one channel gains nothing, 3-D neither way). Same values and indices (the kernels'
    first-maximizer scan is the same)."""
    return (
        x.device.type == "cpu"
        and plan.d == 2
        and x.shape[1] >= 4
        and plan.window_size > 4 * math.prod(plan.stride)
        and x.is_contiguous()
        and not x.is_contiguous(memory_format=torch.channels_last)
    )


def max_pool(x: torch.Tensor, plan: Plan, ceil_mode: bool, need_index: bool):
    """``(y, index or None)`` from PyTorch's kernel (only where :func:`max_pool_applies`);
    without indices PyTorch runs a faster value-only kernel."""
    if need_index and _channels_last_faster(plan, x):
        y, index = max_pool(x.contiguous(memory_format=torch.channels_last), plan, ceil_mode, True)
        return y.contiguous(), index.contiguous()
    out = _MAX[plan.d](
        x,
        plan.kernel,
        plan.stride,
        plan.symmetric_padding,
        plan.dilation,
        ceil_mode=bool(ceil_mode),  # a checked flag: bool or NumPy bool
        return_indices=need_index,
    )
    return out if need_index else (out, None)


def separable_max_values(plan: Plan, x: torch.Tensor) -> bool:
    """Whether a max value without index or derivative comes faster from the separable
    maximum (:func:`ndpool.impl.separable.box_max`) than from PyTorch's kernel: on CPU
    for d >= 2, not for d = 1, where PyTorch has a single-pass value-only kernel."""
    return x.device.type == "cpu" and plan.d >= 2


def separable_sums_faster(plan: Plan, x: torch.Tensor) -> bool:
    """Whether window sums (avg, Lp) are faster separable (with the adjoint backward of
    :class:`ndpool.impl.separable._SlidingSum`) than from PyTorch's avg_pool: on CPU
    unless the windows are disjoint and hold 9 or more cells."""
    if x.device.type != "cpu":
        return False
    disjoint = all(a.stride >= a.kernel for a in plan.axes)
    return not (disjoint and plan.window_size >= 9)


def avg_pool_applies(plan: Plan, x: torch.Tensor, divisor_override) -> bool:
    # avg_pool3d (unlike 1-D/2-D and max_pool3d) rejects an input shorter than the kernel
    # on any axis, padding notwithstanding ("input image smaller than kernel size")
    return (
        _sliding_ok(plan, x)
        and not separable_sums_faster(plan, x)
        and all(a.dilation == 1 for a in plan.axes)
        and (plan.d < 3 or all(a.length >= a.kernel for a in plan.axes))
        and (divisor_override is None or plan.d >= 2)
        and x.dtype in (torch.float32, torch.float64)
    )


def avg_pool(x, plan: Plan, ceil_mode: bool, count_include_pad: bool, divisor_override):
    kw = {} if divisor_override is None else {"divisor_override": int(divisor_override)}
    return _AVG[plan.d](
        x,
        plan.kernel,
        plan.stride,
        plan.symmetric_padding,
        ceil_mode=bool(ceil_mode),  # checked flags: bool or NumPy bool
        count_include_pad=bool(count_include_pad),
        **kw,
    )


def adaptive_applies(plan: Plan, x: torch.Tensor) -> bool:
    return plan.d <= 3 and x.numel() > 0


def adaptive_max_pool(x: torch.Tensor, plan: Plan, need_index: bool):
    out = _ADAPTIVE_MAX[plan.d](x, plan.spatial_out, return_indices=need_index)
    return out if need_index else (out, None)


def adaptive_avg_pool(x: torch.Tensor, plan: Plan):
    return _ADAPTIVE_AVG[plan.d](x, plan.spatial_out)
