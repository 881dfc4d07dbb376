"""Max pooling and adaptive max pooling (the spec's first-maximizer / first-NaN rule).

The value is ``x`` at the selected cell, so every derivative (backward,
forward mode, vmap, double backward) is that of a gather and goes to exactly
the cell the spec selects; the selection itself is computed without autograd
by :func:`ndpool.impl.selection.first_maximizer_index`, or by PyTorch's kernel
where that provably selects the same cell (:mod:`ndpool.impl.native`). When no
derivative and no index is asked for, only the value is computed (``amax``
per axis, padding as -inf).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ndpool.spec.constraints import check_flag

from . import native
from .geometry import Plan
from .inputs import adaptive_input, sliding_input, unbatch
from .selection import first_maximizer_index, take
from .separable import box_max
from .triton import routed


def select_max(
    xb: torch.Tensor,
    plan: Plan,
    return_indices: bool,
    native_applies: bool,
    native_call: Callable[[bool], tuple] | None,
    separable_values: bool = False,
):
    """``(y, index or None)`` for a batched input; shared by every max-like op.

    PyTorch's kernel selects the spec's cell unless a window holds a NaN (it takes the
    last NaN) or its maximum is -inf (its channels-last 3-D kernel, for one, then keeps
    an initial index that may lie outside the window, where the spec selects the first
    real cell). A window holds a NaN iff its value is NaN: so its indices are kept when
    every output is > -inf (a check on the output, smaller than the input), and the
    separable selection runs otherwise. ``separable_values``: the value alone (no
    index, no derivative) is faster from the separable maximum
    (:func:`ndpool.impl.native.separable_max_values`).
    """
    need_index = return_indices or native.tracks_derivatives(xb)
    if need_index:
        native_applies = native_applies and not native.is_traced(xb)
    if native_applies and not (separable_values and not need_index):
        y, index = native_call(need_index)
        # one reduction: amin is NaN if some output is (NaN > -inf is False)
        if not need_index or float(y.detach().amin()) > float("-inf"):
            return y, index
    if not need_index:
        return box_max(xb, plan), None
    index = first_maximizer_index(xb, plan)
    return take(xb, index, plan), index


def _finish(y, index, plan: Plan, return_indices: bool):
    y = unbatch(y, plan)
    return (y, unbatch(index, plan)) if return_indices else y


@routed
def max_pool(
    x: torch.Tensor,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Max over every window; padded cells are ignored; ties and NaN: first in row-major order.

    >>> import torch
    >>> x = torch.tensor([[[1.0, 5.0, 5.0, 2.0, 7.0]]])
    >>> max_pool(x, kernel_size=(3,), stride=2, padding=1, return_indices=True)
    (tensor([[[5., 5., 7.]]]), tensor([[[1, 1, 4]]]))
    """
    geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                    ceil_mode=ceil_mode)  # fmt: skip
    plan, xb = sliding_input(x, geometry)
    check_flag("return_indices", return_indices)
    y, index = select_max(
        xb,
        plan,
        return_indices,
        native.max_pool_applies(plan, xb),
        lambda need_index: native.max_pool(xb, plan, ceil_mode, need_index),
        native.separable_max_values(plan, xb),
    )
    return _finish(y, index, plan, return_indices)


@routed
def adaptive_max_pool(x: torch.Tensor, *, output_size, return_indices: bool = False):
    """Max over adaptive bins ``[floor(i*L/n), ceil((i+1)*L/n))`` on every axis.

    >>> import torch
    >>> adaptive_max_pool(torch.tensor([[[3.0, 1.0, 4.0, 1.0, 5.0]]]), output_size=(3,))
    tensor([[[3., 4., 5.]]])
    """
    plan, xb = adaptive_input(x, output_size)
    check_flag("return_indices", return_indices)
    y, index = select_max(
        xb,
        plan,
        return_indices,
        native.adaptive_applies(plan, xb),
        lambda need_index: native.adaptive_max_pool(xb, plan, need_index),
    )
    return _finish(y, index, plan, return_indices)
