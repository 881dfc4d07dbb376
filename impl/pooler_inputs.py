"""The positional inputs of the learnable and stochastic poolers, checked as the spec does.

Every input has a kind (``ndpool.spec.window_op.INPUT_KINDS``) that fixes its
accepted shapes and its layout for the reducer over ``[N, C, *O, K]`` windows:

- ``channel`` (q, alpha, a, p, temperature): a number, ``()`` or ``[C]`` (C12)
  -> a float or ``[1, C, 1, ..., 1]``;
- ``window`` (omega, v1, v2): ``[K]`` per layer or ``[C, K]`` per channel (C15)
  -> ``[1, 1 or C, 1, ..., 1, K]``;
- ``output`` (stochastic's u): ``[N, C, *O]``; ``cell`` (Gumbel's g):
  ``[N, C, *O, K]``; without the ``N`` for an unbatched call (C16).

Value constraints (C14, C17-C20) are the spec's own ``check`` functions
(``ndpool.spec.OPS[op].check``), given the parameter values; a large draw is
summarised by its smallest and largest value (enough for the range and
finiteness checks). Data-dependent checks need concrete tensors: under
``torch.compile`` / ``torch.func`` transforms only the options are checked.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ndpool.spec.constraints import fail
from ndpool.spec.registry import OPS

from .geometry import Plan, sliding_plan
from .layout import as_batched, check_dtype
from .native import is_traced

GEOMETRY_KEYS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")


def setup(x: torch.Tensor, geometry: dict) -> tuple[Plan, torch.Tensor]:
    """Check ``x`` and the geometry (C1-C8, the spec's checks); ``(plan, batched x)``."""
    check_dtype(x)
    plan = sliding_plan(x.shape, **geometry)
    return plan, as_batched(x, plan)


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def channel_input(value, xb: torch.Tensor, plan: Plan, name: str, dtype):
    """A float, or a tensor broadcasting over ``[N, C, *O]`` (C12)."""
    if is_number(value):
        return float(value)
    p = torch.as_tensor(value)
    channels = xb.shape[1]
    if p.shape not in (torch.Size([]), torch.Size([channels])):
        raise fail("C12", f"{name} has shape {tuple(p.shape)}; expected () or ({channels},)")
    p = p.to(device=xb.device, dtype=dtype)
    return p.reshape((1, channels) + (1,) * plan.d) if p.ndim else p


def window_input(value, xb: torch.Tensor, plan: Plan, name: str, dtype) -> torch.Tensor:
    """``[K]`` or ``[C, K]`` -> ``[1, 1 or C, 1, ..., 1, K]`` (C15)."""
    p = torch.as_tensor(value)
    k, channels = plan.window_size, xb.shape[1]
    if p.shape not in (torch.Size([k]), torch.Size([channels, k])):
        raise fail(
            "C15",
            f"{name} has shape {tuple(p.shape)}; expected ({k},) (per layer) or "
            f"({channels}, {k}) (per channel) for a window of {k} cells",
        )
    lead = p.shape[0] if p.ndim == 2 else 1
    return p.to(device=xb.device, dtype=dtype).reshape((1, lead) + (1,) * plan.d + (k,))


def draw_shape(xb: torch.Tensor, plan: Plan, kind: str) -> tuple[int, ...]:
    """The batched shape of an ``output`` or ``cell`` input."""
    cell = (plan.window_size,) if kind == "cell" else ()
    return tuple(xb.shape[:2]) + plan.spatial_out + cell


def draw_input(value, xb: torch.Tensor, plan: Plan, name: str, kind: str, dtype):
    """An ``output`` (``[N, C, *O]``) or ``cell`` (``[N, C, *O, K]``) input, batched (C16)."""
    p = torch.as_tensor(value)
    want = draw_shape(xb, plan, kind)
    want = want if plan.batched else want[1:]
    if tuple(p.shape) != want:
        layout = "[N, C, *O]" if kind == "output" else "[N, C, *O, K]"
        raise fail("C16", f"{name} has shape {tuple(p.shape)}; expected {want} ({layout})")
    p = p.to(device=xb.device, dtype=dtype)
    return p if plan.batched else p.unsqueeze(0)


def in_transform(value: torch.Tensor) -> bool:
    """Under torch.compile or a torch.func transform, where a tensor's data cannot be read
    (NumPy conversion fails there even for tensors the transform does not wrap)."""
    return is_traced(value) or torch._C._functorch.peek_interpreter_stack() is not None


def values(value, placeholder: float) -> np.ndarray:
    """A parameter's values for the spec's check (``placeholder`` when they cannot be
    read: a traced tensor)."""
    if value is None:
        return None
    if is_number(value):
        return np.asarray(float(value))
    if is_traced(value):
        return np.asarray(placeholder)
    return np.asarray(torch.as_tensor(value).tolist(), dtype=np.float64).reshape(-1)


def extremes(value: torch.Tensor | None, placeholder: float) -> np.ndarray | None:
    """The smallest and largest value of a (large) draw, for the spec's range checks."""
    if value is None:
        return None
    value = torch.as_tensor(value)
    if in_transform(value) or value.numel() == 0:
        return np.asarray([placeholder])
    lo, hi = torch.aminmax(value.detach().reshape(-1).double())
    return np.asarray([lo.item(), hi.item()])


def spec_check(op: str, params: list, options: dict) -> None:
    """Run the spec's value and option checks of ``op`` (raises its numbered ValueError)."""
    OPS[op].check(params, dict(options))
