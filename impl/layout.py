"""Batching and dtypes at the API boundary.

Inputs are ``[N, C, *S]`` or unbatched ``[C, *S]`` of float16, bfloat16,
float32 or float64, in any memory layout (contiguous, channels_last, strided
views: every kernel here reads through strides). Rounding ops (avg, Lp, smooth
max) compute float16/bfloat16 in float32 and round once at the end, like the
spec's "compute wide, round once" rule; max only selects, so it runs in the
input dtype.
"""

from __future__ import annotations

import torch

from .geometry import Plan

DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_dtype(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in DTYPES:
        raise TypeError(f"x has dtype {x.dtype}; ndpool.impl takes {DTYPES}")


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype rounding ops compute in: float32 for the 16-bit types."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def as_batched(x: torch.Tensor, plan: Plan) -> torch.Tensor:
    return x if plan.batched else x.unsqueeze(0)


def unbatch(y: torch.Tensor, plan: Plan) -> torch.Tensor:
    return y if plan.batched else y.squeeze(0)


def per_output(counts: list[tuple[int, ...]], dtype, device) -> torch.Tensor:
    """The product over axes of per-axis counts, shaped ``[*O]`` (a separable divisor)."""
    d = len(counts)
    total = None
    for a, c in enumerate(counts):
        shape = [1] * d
        shape[a] = len(c)
        term = torch.tensor(c, dtype=dtype, device=device).reshape(shape)
        total = term if total is None else total * term
    return total
