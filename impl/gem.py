"""GeM pooling (spec: ``ndpool.spec.gem``): ``(mean_i max(x_i, eps)^p)^(1/p)``.

Computed as the spec does, ``y = T rho`` with ``rho = (1/n sum_i r_i^p)^(1/p)``,
``r_i = t_i / T`` and ``T = max_i t_i``, and so are its partials, from the scaled cells
alone (:class:`~ndpool.impl.partials.ExplicitPartials`)::

    dy/dx_i = [x_i >= eps] (1/n) (r_i / rho)^(p-1)      dy/dp = (y / p) sum_i w_i log(r_i / rho)

with ``w_i = r_i^p / sum_j r_j^p`` (``torch.clamp``'s boundary rule at ``x_i = eps``).
Autograd's chain through ``T`` would divide a tangent by ``T`` and multiply by it again,
which overflows (or loses the significand) for a subnormal ``T``; cells with ``t_i = 0``
(``eps = 0``) have zero partials, where ``p t^(p-1)`` or ``t^p log t`` would give ``inf``
or NaN. A NaN window (a NaN or +inf cell) has NaN partials for every real cell and ``p``.
First order only (a second derivative is an error naming the op).
"""

from __future__ import annotations

import torch

from .inputs import channel_input, check_values, compute_dtype, sliding_input, unbatch
from .partials import ExplicitPartials
from .windows import gather, real_count, real_mask


def _value_and_partials(w: torch.Tensor, p, real: torch.Tensor, eps: float):
    """``(y, dy/dw, dy/dp)`` of every window (the spec's ``gem.parts`` and ``partials``)."""
    n = real_count(real, w)
    t = torch.where(real, w.clamp(min=eps), 0.0)
    top = torch.where(real, t, float("-inf")).amax(-1)
    ok = (n > 0) & (top > 0)
    scale = torch.where(ok, top, 1.0)
    r = t / scale.unsqueeze(-1)
    live = real & (r > 0) & ok.unsqueeze(-1)
    p_k = p.unsqueeze(-1)
    rp = torch.where(live, torch.where(live, r, 1.0) ** p_k, 0.0)
    total = rp.sum(-1)
    nsafe = n.clamp(min=1)
    rho = (total / nsafe) ** (1 / p)
    y = torch.where(ok, scale * torch.where(ok, rho, 1.0), torch.where(n > 0, 0.0, float("nan")))
    nan_win = (real & torch.isnan(w)).any(-1)
    y = torch.where(nan_win, float("nan"), y)  # NaN propagates
    ratio = torch.where(live, r / torch.where(ok, rho, 1.0).unsqueeze(-1), 1.0)
    dt = torch.where(live, ratio ** (p_k - 1) / nsafe.unsqueeze(-1), 0.0)
    dx = torch.where(w >= eps, dt, 0.0)
    weights = torch.where(live, rp / torch.where(ok, total, 1.0).unsqueeze(-1), 0.0)
    logs = torch.where(live, torch.log(ratio), 0.0)
    dp = torch.where(ok, y / p * (weights * logs).sum(-1), 0.0)
    undefined = (torch.isnan(y) & (n > 0)).unsqueeze(-1)
    dx = torch.where(undefined & real, float("nan"), dx)
    dp = torch.where(undefined[..., 0], float("nan"), dp)
    return y, dx, dp


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
    check_values("gem_pool", {"p": p}, {"eps": eps})
    cdt = compute_dtype(x.dtype)
    p = torch.as_tensor(channel_input(p, xb, plan, "p", cdt), dtype=cdt, device=x.device)
    w = gather(xb.to(cdt), plan)
    real = real_mask(plan, x.device)
    y = ExplicitPartials.apply(
        lambda w, p, real: _value_and_partials(w, p, real, float(eps)), "gem_pool", 1, w, p, real
    )[0]
    return unbatch(y, plan).to(x.dtype)
