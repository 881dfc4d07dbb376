"""Lp pooling: ``(sum_i t_i^p)^(1/p)`` over the real cells of every window.

``t_i = |x_i|`` (``sign="abs"``, default) or ``x_i`` (``sign="signed"``, PyTorch's
convention, IEEE pow). The sum of ``t^p`` is a window sum
(:func:`ndpool.impl.avg_pool.window_sum`), so padded cells and a partial
ceil_mode window's overhang add nothing, as the spec says. ``p = inf`` is max
pooling of ``|x|`` with the spec's winner rule.

The zero conventions of the spec's derivatives (a zero cell or a zero window
has derivative 0, except for p = 1, which is linear in t) come from evaluating
``pow`` only where its base is non-zero (``torch.where`` on both sides), so
autograd never sees ``0 * inf``.

Computed in the input precision (float32 for 16-bit inputs) directly as
``t^p``, without the spec's per-window rescaling by ``max |x|``: values whose
p-th power overflows the compute dtype give inf where the spec is finite.
"""

from __future__ import annotations

import math

import torch

from . import native
from .avg_pool import window_sum
from .geometry import Plan, sliding_plan
from .layout import as_batched, check_dtype, compute_dtype, unbatch
from .max_pool import select_max
from .parameters import channel_param
from .separable import mask_unread


def _safe_pow(base: torch.Tensor, exponent) -> torch.Tensor:
    """``base ** exponent`` with 0 where ``base == 0`` and a zero derivative there."""
    nonzero = base != 0
    return torch.where(nonzero, torch.where(nonzero, base, 1.0) ** exponent, 0.0)


def _finite(xb: torch.Tensor, p, plan: Plan, ceil_mode: bool, sign: str) -> torch.Tensor:
    t = xb.abs() if sign == "abs" else xb
    if native.tracks_derivatives(xb) or (
        isinstance(p, torch.Tensor) and native.tracks_derivatives(p)
    ):
        if isinstance(p, float) and p == 1:
            return window_sum(t, plan, ceil_mode)  # linear in t: dy/dx_i = s_i everywhere
        y = _pow_sum(t, p, plan, ceil_mode, sign)
        if isinstance(p, float):
            return y
        # p = 1 entries: the x-derivative of the plain sum (also at zero cells and y = 0),
        # the p-derivative of the power form (its x-dependence detached)
        y_p = _pow_sum(t.detach(), p, plan, ceil_mode, sign)
        linear = window_sum(t, plan, ceil_mode) + (y_p - y_p.detach())
        return torch.where(p == 1, linear, y)
    return window_sum(t**p, plan, ceil_mode) ** (1 / p)  # values only: 0^p = 0 for p > 0


def _pow_sum(t: torch.Tensor, p, plan: Plan, ceil_mode: bool, sign: str) -> torch.Tensor:
    """``(sum t^p)^(1/p)`` whose derivatives follow the spec's zero-cell / zero-window rule."""
    # |x|^p has derivative 0 at x = 0 for a constant p >= 1 (abs' (0) = 0): no guard
    plain = sign == "abs" and isinstance(p, float) and p >= 1
    tp = t**p if plain else _safe_pow(t, p)
    return _safe_pow(window_sum(tp, plan, ceil_mode), 1 / p)


def _infinite(xb: torch.Tensor, plan: Plan) -> torch.Tensor:
    a = xb.abs()
    y, _ = select_max(a, plan, False, False, None)
    return y


def lp_pool(
    x: torch.Tensor,
    norm_type,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    sign: str = "abs",
):
    """``(sum_i t_i^p)^(1/p)`` over the real cells of every window; ``norm_type`` is p.

    >>> import torch
    >>> x = torch.tensor([[[3.0, -4.0, 1.0, 2.0, 2.0]]])
    >>> lp_pool(x, 2.0, kernel_size=2, stride=2, ceil_mode=True)
    tensor([[[5.0000, 2.2361, 2.0000]]])
    """
    check_dtype(x)
    plan = sliding_plan(
        x.shape,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
    xb = as_batched(x, plan).to(compute_dtype(x.dtype))
    if native.tracks_derivatives(xb):
        xb = mask_unread(xb, plan)
    p = channel_param(
        norm_type,
        xb,
        plan.d,
        "norm_type",
        "lp_pool",
        {"sign": sign},
        xb.dtype,
    )
    if isinstance(p, float):
        y = _infinite(xb, plan) if math.isinf(p) else _finite(xb, p, plan, ceil_mode, sign)
    else:
        inf = torch.isinf(p)
        if native.is_traced(p) or not bool(inf.any()):
            y = _finite(xb, p, plan, ceil_mode, sign)
        else:  # a per-channel p with some infinite entries
            finite = _finite(xb, torch.where(inf, 2.0, p), plan, ceil_mode, sign)
            y = torch.where(inf, _infinite(xb, plan), finite)
    return unbatch(y, plan).to(x.dtype)
