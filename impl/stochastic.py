"""Stochastic pooling with the uniform draw explicit (spec: ``ndpool.spec.stochastic``).

Train: the inverse CDF at ``u`` over the running sum of the window's real cells,
formed in float64 (as the spec does) for every input dtype: cell ``l`` is the
first with ``c_l > u S``, else the last positive cell; an all-zero window gives 0.
The value is the picked cell (:func:`ndpool.impl.windows.pick`), so its derivative
goes there. On CPU ``cumsum`` adds in window order, as the spec does, so the pick
is the spec's draw by draw; a parallel scan (CUDA) may round a running sum
differently, which can only matter for a draw within a few ulps of a CDF boundary
(``ndpool.spec.stochastic.selection_margin``).

Eval: ``sum x_i^2 / sum x_i`` (0 for an all-zero window) in units of the window's
largest cell, derivatives by autograd.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ndpool.spec.constraints import fail

from .inputs import (
    check_values,
    compute_dtype,
    draw_input,
    readable,
    sliding_input,
    unbatch,
)
from .windows import first_true, gather, pick, pow2_ceiling, real_mask


def inverse_cdf_select(w: torch.Tensor, u: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The picked cell of every window (-1 for an all-zero window)."""
    cells = torch.where(real, w.detach(), 0.0).double()
    c = cells.cumsum(-1)
    total = c[..., -1]
    hit = c > (u.double() * total).unsqueeze(-1)
    k = w.shape[-1]
    last = k - 1 - first_true((cells > 0).flip(-1))
    sel = torch.where(hit.any(-1), first_true(hit), last)
    return torch.where(total > 0, sel, -1)


def _validate(xb: torch.Tensor, batched: bool) -> None:
    """C18: finite, non-negative input (the spec's message, naming the first bad cell);
    under ``torch.func`` through the transform's wrappers, under ``torch.compile`` when
    the compiled code runs (a graph break: the values exist only then)."""
    if torch.compiler.is_compiling():
        return _validate_at_run_time(xb, batched)
    xb = readable(xb)
    if xb.numel() == 0:
        return
    bad = ~(torch.isfinite(xb) & (xb >= 0))
    if bool(bad.any()):
        first = int(bad.reshape(-1).to(torch.uint8).argmax())
        where = np.unravel_index(first, tuple(xb.shape))
        where = where if batched else where[1:]
        value = np.float64(xb.reshape(-1)[first].item())
        raise fail(
            "C18",
            f"stochastic_pool needs finite, non-negative input (probabilities x_i / sum x); "
            f"x{list(map(int, where))} = {value!r}",
        )


def _probability_weighted(w: torch.Tensor) -> torch.Tensor:
    """``sum x_i^2 / sum x_i`` over the last axis (0 where the sum is 0), in units of the
    window's scale ``M``, a constant: ``M f(w / M)``. ``M`` is the power of two above the
    largest cell (as in the spec), but never below ``2^e`` with ``2^(2e) <= tiny^2 /
    normal`` (``tiny`` the smallest subnormal): then every non-zero ``r = x / M`` has a
    normal square, ``S = sum r`` a normal ``S^2`` (the derivative's ``1 / S^2``), and the
    backward's product by ``M`` stays normal, so no step over- or underflows where the
    result does not."""
    info = torch.finfo(w.dtype)
    sub = info.tiny * info.eps
    floor = 2.0 ** math.floor(math.log2(sub) - math.log2(info.tiny) / 2)
    with torch.no_grad():
        top = w.detach().amax(-1, keepdim=True) if w.shape[-1] else w.sum(-1, True)
        m = pow2_ceiling(top).clamp(min=floor)
    r = w / m
    total = r.sum(-1)
    positive = total > 0
    safe = torch.where(positive, total, 1.0)
    return torch.where(positive, m[..., 0] * ((r * r).sum(-1) / safe), 0.0)


@torch.compiler.disable
def _validate_at_run_time(xb: torch.Tensor, batched: bool) -> None:
    _validate(xb, batched)


def stochastic_pool(
    x: torch.Tensor,
    u=None,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    mode: str = "train",
) -> torch.Tensor:
    """Pick ``x_l`` with probability ``x_l / sum x`` by the inverse CDF at ``u`` (train),
    or ``sum x_i^2 / sum x_i`` (eval), over the real cells of every window.

    >>> import torch
    >>> x = torch.tensor([[[1.0, 3.0, 0.0, 0.0, 2.0, 2.0]]])
    >>> stochastic_pool(x, torch.tensor([[[0.3, 0.9, 0.5]]]), kernel_size=2)
    tensor([[[3., 0., 2.]]])
    """
    plan, xb = sliding_input(x, dict(kernel_size=kernel_size, stride=stride, padding=padding,
                             dilation=dilation, ceil_mode=ceil_mode))  # fmt: skip
    train = mode == "train"
    check_values("stochastic_pool", {"u": u if train else None}, {"mode": mode}, draws=("u",))
    _validate(xb, plan.batched)
    real = real_mask(plan, x.device)
    if train:
        w = gather(xb, plan)
        ub = draw_input(u, xb, plan, "u", "output", torch.float64)
        y = pick(w, inverse_cdf_select(w, ub, real), 0.0)
    else:
        w = torch.where(real, gather(xb.to(compute_dtype(x.dtype)), plan), 0.0)
        y = _probability_weighted(w)
    return unbatch(y, plan).to(x.dtype)
