"""The API boundary: every input of an impl op checked as the spec checks it, then laid
out for the kernels.

- ``x``: a ``torch.Tensor`` of :data:`DTYPES`, ``[N, C, *S]`` or unbatched ``[C, *S]``,
  in any memory layout (every kernel reads through strides); :func:`sliding_input` /
  :func:`adaptive_input` resolve the window plan (the spec's C1-C9) and add the batch
  axis. Rounding ops compute float16 / bfloat16 in float32 (:func:`compute_dtype`) and
  round once at the end, like the spec's "compute wide, round once"; selections run in
  the input dtype.
- The other positional inputs, by their kind (``ndpool.spec.op.INPUT_KINDS``):
  ``channel`` (p, beta, q, alpha, a, temperature): a number, ``()`` or ``[C]`` (C12) ->
  a float or ``[1, C, 1, ..., 1]``; ``window`` (omega, v1, v2): ``[K]`` or ``[C, K]``
  (C15) -> ``[1, 1 or C, 1, ..., 1, K]``; ``output`` / ``cell`` draws: ``[N, C, *O]`` /
  ``[N, C, *O, K]`` without the ``N`` when unbatched (C16).
- Values and options (C10, C11, C13, C14, C17-C20): :func:`check_values` runs the
  spec's own ``check`` of the op on the values a parameter holds. A tensor's values
  can only be read eagerly: under ``torch.compile`` / ``torch.func`` transforms the
  options and the Python-number parameters are checked, tensors are not.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ndpool.spec.constraints import fail
from ndpool.spec.registry import OPS

from .geometry import Plan, adaptive_plan, sliding_plan
from .native import is_traced

DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


# -- x -------------------------------------------------------------------------------------
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


def sliding_input(x: torch.Tensor, geometry: dict) -> tuple[Plan, torch.Tensor]:
    """Check ``x`` and the window geometry (``kernel_size``, ``stride``, ``padding``,
    ``dilation``, ``ceil_mode``: the spec's constraints) and return the plan with the
    batched input (dtype unchanged)."""
    check_dtype(x)
    plan = sliding_plan(x.shape, **geometry)
    return plan, as_batched(x, plan)


def adaptive_input(x: torch.Tensor, output_size) -> tuple[Plan, torch.Tensor]:
    """:func:`sliding_input` for adaptive bins (C1, C7, C9)."""
    check_dtype(x)
    plan = adaptive_plan(x.shape, output_size=output_size)
    return plan, as_batched(x, plan)


# -- the other positional inputs --------------------------------------------------------------
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


# -- values and options --------------------------------------------------------------------------
def in_transform(value: torch.Tensor) -> bool:
    """Under torch.compile or a torch.func transform, where a tensor's data cannot be read
    (NumPy conversion fails there even for tensors the transform does not wrap)."""
    return is_traced(value) or torch._C._functorch.peek_interpreter_stack() is not None


def values(value, placeholder: float) -> tuple[float, ...] | None:
    """A parameter's values for the spec's check (``placeholder`` when they cannot be
    read: a traced tensor)."""
    if value is None:
        return None
    if is_number(value):
        return (float(value),)
    value = torch.as_tensor(value)
    if in_transform(value):
        return (placeholder,)
    return tuple(value.detach().double().reshape(-1).tolist())


def extremes(value, placeholder: float) -> tuple[float, ...] | None:
    """The smallest and largest value of a (large) draw, enough for the spec's range and
    finiteness checks."""
    if value is None:
        return None
    value = torch.as_tensor(value)
    if in_transform(value) or value.numel() == 0:
        return (placeholder,)
    lo, hi = torch.aminmax(value.detach().reshape(-1).double())
    return (lo.item(), hi.item())


def check_values(op: str, params: list, options: dict) -> None:
    """The spec's value and option checks of ``op`` (its numbered ValueError), given the
    values each parameter holds (:func:`values`, :func:`extremes`; ``None`` for an absent
    input) and the op's options."""
    _check(op, tuple(params), tuple(options.items()))


# torch.compile does not trace the (NumPy) check: it runs once per constant argument set,
# in Python, while the graph is traced
@torch.compiler.assume_constant_result
def _check(op: str, params: tuple, options: tuple) -> bool:
    record = OPS[op]
    options = dict(options)
    for option in record.options:
        if option.name in options:
            option.check(options[option.name])
    if record.check is not None:
        record.check([None if p is None else np.asarray(p) for p in params], options)
    return True
