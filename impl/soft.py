"""SoftPool and the soft sample it shares with Gumbel pooling (spec: ``ndpool.spec.soft``).

``soft_sample(w, scores, real) = sum_i softmax(scores)_i w_i`` over the real cells
(``torch.softmax`` shifts by the max, so nothing overflows). The derivatives are
autograd's through that formula: ``pi_j (1 + (w_j - y) / T)`` for ``scores = w / T + g``
and ``-sum_i pi_i w_i (w_i - y) / T^2`` for ``T``, the spec's. A window with no real
cell is NaN with zero derivatives.
"""

from __future__ import annotations

import torch

from .inputs import compute_dtype, sliding_input, unbatch
from .windows import gather, real_mask

NAN = float("nan")


def soft_sample(w: torch.Tensor, scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """``sum_i softmax(scores)_i w_i`` over the real cells of every window (``[..., K]``
    to ``[...]``), formed as ``c + sum_i pi_i (w_i - c)`` with ``c`` the window's largest
    finite real cell, held constant: the same value, and since ``sum_i pi_i = 1`` the same
    derivatives, but the derivative's terms ``pi_dot_i (w_i - c)`` stay the size of the
    result's change -- ``pi_dot_i w_i`` near the dtype's largest value would cancel to 0
    and lose ``sum_i pi_i w_dot_i`` entirely."""
    nonempty = real.any(-1)
    s = torch.where(real, scores, float("-inf"))
    s = torch.where(nonempty.unsqueeze(-1), s, 0.0)  # an empty window: finite, then masked
    pi = torch.softmax(s, dim=-1)
    cells = torch.where(real, w, 0.0)
    with torch.no_grad():
        top = torch.where(real & w.isfinite(), w, float("-inf")).amax(-1, keepdim=True)
        c = torch.where(top.isfinite(), top, 0.0)
    y = c.squeeze(-1) + (pi * torch.where(real, cells - c, 0.0)).sum(-1)
    return torch.where(nonempty, y, NAN)


def soft_pool(
    x: torch.Tensor,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """``sum_i softmax(x)_i x_i`` over the real cells of every window.

    >>> import torch
    >>> soft_pool(torch.tensor([[[0.0, 0.0, 1000.0, 1000.0]]]), kernel_size=2)
    tensor([[[   0., 1000.]]])
    """
    plan, xb = sliding_input(x, dict(kernel_size=kernel_size, stride=stride, padding=padding,
                             dilation=dilation, ceil_mode=ceil_mode))  # fmt: skip
    w = gather(xb.to(compute_dtype(x.dtype)), plan)
    y = soft_sample(w, w, real_mask(plan, x.device))
    return unbatch(y, plan).to(x.dtype)
