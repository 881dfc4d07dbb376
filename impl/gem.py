"""GeM pooling (spec: ``ndpool.spec.gem``): ``(mean_i max(x_i, eps)^p)^(1/p)``.

Computed as the spec does, ``y = T (1/n sum_i (t_i / T)^p)^(1/p)`` with ``T = max_i t_i``
held constant (the value does not depend on ``T``, so detaching it leaves every
derivative exact and keeps ``max`` out of the graph). Cells with ``t_i = 0``
(``eps = 0``) enter as exact zeros with zero derivative, where ``p t^(p-1)`` or
``t^p log t`` would give ``inf`` or NaN. Derivatives are autograd's:
``dy/dx_i = [x_i >= eps] (1/n) (t_i / y)^(p-1)`` (``torch.clamp``'s boundary rule),
``dy/dp = (y / p) sum_i w_i log(t_i / y)``.
"""

from __future__ import annotations

import torch

from .inputs import channel_input, check_values, compute_dtype, sliding_input, unbatch, values
from .windows import gather, real_count, real_mask


def gem_pool(
    x: torch.Tensor,
    p,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    eps: float = 1e-6,
) -> torch.Tensor:
    """``(mean_i max(x_i, eps)^p)^(1/p)`` over the real cells of every window.

    >>> import torch
    >>> gem_pool(torch.tensor([[[1.0, 3.0, 2.0, 2.0]]]), 2.0, kernel_size=2, eps=0.0)
    tensor([[[2.2361, 2.0000]]])
    """
    plan, xb = sliding_input(x, dict(kernel_size=kernel_size, stride=stride, padding=padding,
                             dilation=dilation, ceil_mode=ceil_mode))  # fmt: skip
    check_values("gem_pool", [values(p, 3.0)], {"eps": eps})
    cdt = compute_dtype(x.dtype)
    p = channel_input(p, xb, plan, "p", cdt)
    w = gather(xb.to(cdt), plan)
    real = real_mask(plan, x.device)
    n = real_count(real, w)
    t = torch.where(real, w.clamp(min=float(eps)), 0.0)
    top = torch.where(real, t, float("-inf")).amax(-1).detach()
    ok = (n > 0) & (top > 0)
    scale = torch.where(ok, top, 1.0)
    r = t / scale.unsqueeze(-1)
    live = real & (r > 0)
    p_k = p.unsqueeze(-1) if isinstance(p, torch.Tensor) and p.ndim else p
    rp = torch.where(live, torch.where(live, r, 1.0) ** p_k, 0.0)
    rho = (rp.sum(-1) / n.clamp(min=1)) ** (1 / p)
    y = torch.where(ok, scale * torch.where(ok, rho, 1.0), torch.where(n > 0, 0.0, float("nan")))
    y = torch.where((real & torch.isnan(w)).any(-1), float("nan"), y)  # NaN propagates
    # the spec's convention: a NaN window (a +inf cell) has NaN derivatives for every real
    # cell and p. A term that is 0 elsewhere (a 0 factor, no 0 * NaN: the cells enter
    # only inside NaN windows) and NaN there, with derivative NaN there.
    nan_win = (torch.isnan(y) & (n > 0)).detach()
    factor = torch.where(nan_win, float("nan"), 0.0)
    cells = torch.where(nan_win.unsqueeze(-1) & real, w, 0.0).sum(-1)
    y = y + (cells + p) * factor
    return unbatch(y, plan).to(x.dtype)
