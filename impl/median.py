"""Median pooling: the lower-middle real cell of every window (spec: ``ndpool.spec.median``).

The selection runs without autograd on the gathered windows: sort the clean
real cells (padding and NaN as ``+inf``), read rank ``(n - 1) // 2``, and take the
first cell in row-major window order holding that value; a window with a NaN
selects its first NaN. The value is the selected cell (:func:`ndpool.impl.windows.pick`),
so every derivative goes to exactly that cell. Values only select input cells:
exact in every dtype.
"""

from __future__ import annotations

import torch

from ndpool.spec.constraints import check_flag

from .inputs import sliding_input, unbatch
from .windows import first_true, flat_index, gather, pick, real_mask


def median_select(w: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Window-local index of every window's lower median (-1: no real cell)."""
    w = w.detach()
    real = real.expand(w.shape)
    nan = real & w.isnan()
    clean = real & ~nan
    n = real.sum(-1)
    ranked = torch.where(clean, w, float("inf")).sort(-1).values
    med = ranked.gather(-1, ((n - 1) // 2).clamp(min=0).unsqueeze(-1))
    hit = torch.where(nan.any(-1, keepdim=True), nan, clean & (w == med))
    return torch.where(n > 0, first_true(hit), -1)


def median_pool(
    x: torch.Tensor,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """The lower-middle real cell of every window (for ``K = 2``: min pooling).

    >>> import torch
    >>> median_pool(torch.tensor([[[4.0, 1.0, 3.0, 3.0, 9.0, 2.0]]]), kernel_size=3,
    ...             return_indices=True)
    (tensor([[[3., 3.]]]), tensor([[[2, 3]]]))
    """
    plan, xb = sliding_input(x, dict(kernel_size=kernel_size, stride=stride, padding=padding,
                             dilation=dilation, ceil_mode=ceil_mode))  # fmt: skip
    check_flag("return_indices", return_indices)
    w = gather(xb, plan)
    sel = median_select(w, real_mask(plan, x.device))
    y = unbatch(pick(w, sel, float("nan")), plan)
    return (y, unbatch(flat_index(sel, plan), plan)) if return_indices else y
