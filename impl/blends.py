"""Mixed, gated and tree pooling (spec: ``ndpool.spec.blends``): learned blends.

One machinery: a gate ``g`` blends two window statistics, ``y = g P + (1 - g) Q``.

- mixed: ``g = sigma(a)`` (per layer or per channel), ``P`` = max, ``Q`` = mean;
- gated: ``g = sigma(omega . x + b)`` (``b`` an optional bias), ``P`` = max, ``Q`` = mean;
- tree:  ``g = sigma(omega . x)``, ``P = v1 . x``, ``Q = v2 . x``;

with max by the spec's winner rule (:func:`ndpool.impl.windows.first_maximizer`), the
mean over real cells and dot products over real cells. Derivatives are autograd's
through these formulas (the max as a gather of the selected cell). A window with
no real cell is NaN for mixed and gated (with zero derivatives: the statistics
are kept finite under the mask) and 0 for tree.
"""

from __future__ import annotations

import torch

from .inputs import (
    channel_input,
    check_values,
    compute_dtype,
    sliding_input,
    unbatch,
    window_input,
)
from .windows import first_maximizer, gather, masked_sum, pick, real_count, real_mask

NAN = float("nan")


def _geometry(kernel_size, stride, padding, dilation, ceil_mode) -> dict:
    return dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=ceil_mode)  # fmt: skip


def _windows(x: torch.Tensor, geometry: dict):
    plan, xb = sliding_input(x, geometry)
    cdt = compute_dtype(x.dtype)
    return plan, xb, gather(xb.to(cdt), plan), real_mask(plan, x.device)


def _blend(g, p, q):
    return g * p + (1 - g) * q


def _max_mean_blend(w: torch.Tensor, real: torch.Tensor, g) -> torch.Tensor:
    """``g max + (1 - g) mean`` over the real cells; NaN for an empty window."""
    n = real_count(real, w)
    big_m = pick(w, first_maximizer(w, real), 0.0)  # finite where empty: no 0 * NaN
    mean = masked_sum(w, real) / n.clamp(min=1)
    return torch.where(n > 0, _blend(g, big_m, mean), NAN)


def _dot(w: torch.Tensor, v: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    return masked_sum(w * v, real)


def mixed_pool(x, a, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``sigma(a) max + (1 - sigma(a)) mean`` over the real cells of every window.

    >>> import torch
    >>> mixed_pool(torch.tensor([[[1.0, 3.0, 2.0, 6.0]]]), 0.0, kernel_size=2)
    tensor([[[2.5000, 5.0000]]])
    """
    plan, xb, w, real = _windows(x, _geometry(kernel_size, stride, padding, dilation, ceil_mode))
    check_values("mixed_pool", {"a": a}, {})
    a = torch.as_tensor(channel_input(a, xb, plan, "a", w.dtype), dtype=w.dtype, device=w.device)
    y = _max_mean_blend(w, real, torch.sigmoid(a))
    return unbatch(y, plan).to(x.dtype)


def gated_pool(x, omega, bias=None, *, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode=False):  # fmt: skip
    """``g max + (1 - g) mean``, ``g = sigma(omega . x + bias)``; ``omega`` is ``[K]`` or
    ``[C, K]``, ``bias`` ``None`` (none), a number, a 0-d or a ``[C]`` tensor.

    >>> import torch
    >>> gated_pool(torch.tensor([[[1.0, 3.0, 2.0, 6.0]]]), torch.zeros(2), kernel_size=2)
    tensor([[[2.5000, 5.0000]]])
    """
    plan, xb, w, real = _windows(x, _geometry(kernel_size, stride, padding, dilation, ceil_mode))
    check_values("gated_pool", {"omega": omega, "bias": bias}, {})
    omega = window_input(omega, xb, plan, "omega", w.dtype)
    z = _dot(w, omega, real)
    if bias is not None:
        z = z + channel_input(bias, xb, plan, "bias", w.dtype)
    y = _max_mean_blend(w, real, torch.sigmoid(z))
    return unbatch(y, plan).to(x.dtype)


def tree_pool(x, v1, v2, omega, *, kernel_size, stride=None, padding=0, dilation=1,
              ceil_mode=False):  # fmt: skip
    """2-level tree pooling ``g v1.x + (1 - g) v2.x`` with ``g = sigma(omega.x)``.

    >>> import torch
    >>> x = torch.tensor([[[1.0, 3.0, 2.0, 6.0]]])
    >>> tree_pool(x, torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5]), torch.zeros(2),
    ...           kernel_size=2)
    tensor([[[1.5000, 3.0000]]])
    """
    plan, xb, w, real = _windows(x, _geometry(kernel_size, stride, padding, dilation, ceil_mode))
    check_values("tree_pool", {"v1": v1, "v2": v2, "omega": omega}, {})
    v1, v2, omega = (window_input(v, xb, plan, name, w.dtype)
                     for v, name in ((v1, "v1"), (v2, "v2"), (omega, "omega")))  # fmt: skip
    g = torch.sigmoid(_dot(w, omega, real))
    y = _blend(g, _dot(w, v1, real), _dot(w, v2, real))
    return unbatch(y, plan).to(x.dtype)
