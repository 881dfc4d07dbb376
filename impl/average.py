"""Average pooling: the sum of a window's real cells over a divisor, and sum pooling.

The window sum is separable (:func:`ndpool.impl.separable.box_sum`) and the
divisor is too: the number of real cells (or of cells in the padded extent)
of a box window is the product of the per-axis counts, so it is a tiny
``[*O]`` tensor built from the plan. PyTorch's kernel is used where it computes
the same thing (:mod:`ndpool.impl.native`). Autograd, forward mode and vmap
come from the torch ops themselves.
"""

from __future__ import annotations

import math

import torch

from . import native
from .geometry import Plan, per_output
from .inputs import adaptive_input, check_values, compute_dtype, sliding_input, unbatch
from .separable import box_sum
from .triton import routed


def window_sum(x: torch.Tensor, plan: Plan, ceil_mode: bool = False) -> torch.Tensor:
    """Sum of the real cells of every window of a batched input."""
    if native.avg_pool_applies(plan, x, 1):
        return native.avg_pool(x, plan, ceil_mode, True, 1)
    return box_sum(x, plan)


def _divide(total: torch.Tensor, counts: list) -> torch.Tensor:
    """``total / prod(counts)``; a zero count (empty window) gives NaN and no derivative."""
    divisor = per_output(counts, total.dtype, total.device)
    if min(c.least for c in counts) > 0:
        return total / divisor
    safe = torch.where(divisor != 0, divisor, 1.0)
    return torch.where(divisor != 0, total / safe, float("nan"))


@routed
def avg_pool(
    x: torch.Tensor,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
):
    """Mean over every window; padded cells are zero, the divisor rule is explicit.

    >>> import torch
    >>> x = torch.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    >>> avg_pool(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)
    tensor([[[1.5000, 3.0000, 4.5000]]])
    """
    geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                    ceil_mode=ceil_mode)  # fmt: skip
    plan, xb = sliding_input(x, geometry)
    options = {"count_include_pad": count_include_pad, "divisor_override": divisor_override}
    check_values("avg_pool", {}, options)
    xb = xb.to(compute_dtype(x.dtype))

    def mean(xs):
        if native.avg_pool_applies(plan, xs, divisor_override):
            return native.avg_pool(xs, plan, ceil_mode, count_include_pad, divisor_override)
        total = box_sum(xs, plan)
        if divisor_override is not None:
            return total / float(divisor_override)
        counts = [a.extent_count if count_include_pad else a.real_count for a in plan.axes]
        return _divide(total, counts)

    return unbatch(without_overflow(mean, xb, plan), plan).to(x.dtype)


def without_overflow(mean, xb: torch.Tensor, plan: Plan) -> torch.Tensor:
    """``mean(xb)``, a window mean, where no window sum overflows on the way: where an
    output is not finite, the mean of ``xb 2^-k`` times ``2^k`` instead, ``2^k >= K`` (a
    sum of ``K`` cells of ``xb 2^-k`` cannot overflow, and the mean overflows only where it
    does by definition). Only there: ``xb 2^-k`` rounds subnormal cells, so a finite mean
    keeps the unscaled sum. Eagerly the scaled mean is formed only when some output needs
    it; under tracing (no data-dependent branch) always."""
    y = mean(xb)
    if not native.is_traced(xb) and bool(torch.isfinite(y).all()):
        return y
    scale = 2.0 ** math.ceil(math.log2(max(plan.window_size, 1)))
    return torch.where(torch.isfinite(y), y, mean(xb / scale) * scale)


@routed
def adaptive_avg_pool(x: torch.Tensor, *, output_size):
    """Mean over adaptive bins ``[floor(i*L/n), ceil((i+1)*L/n))`` on every axis.

    >>> import torch
    >>> adaptive_avg_pool(torch.tensor([[[3.0, 1.0, 4.0, 1.0, 5.0]]]), output_size=(3,))
    tensor([[[2., 2., 3.]]])
    """
    plan, xb = adaptive_input(x, output_size)
    xb = xb.to(compute_dtype(x.dtype))

    def mean(xs):
        if native.adaptive_applies(plan, xs):
            return native.adaptive_avg_pool(xs, plan)
        return _divide(box_sum(xs, plan), [a.real_count for a in plan.axes])

    return unbatch(without_overflow(mean, xb, plan), plan).to(x.dtype)
