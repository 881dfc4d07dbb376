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
  a float or ``[1, C, 1, ..., 1]``; ``position`` (the Gumbel temperature): the same or
  ``[C, *O]`` -> ``[1, C, *O]``; ``window`` (omega, v1, v2): ``[K]`` or ``[C, K]``
  (C15) -> ``[1, 1 or C, 1, ..., 1, K]``; ``output`` / ``cell`` draws: ``[N, C, *O]`` /
  ``[N, C, *O, K]`` without the ``N`` when unbatched (C16).
- Values, types and options (C10, C11, C13, C14, C17-C20, C22, C24): :func:`check_values`
  runs the spec's own checks of the op on the values a parameter holds, on every call
  (never a cached verdict): eagerly, under ``torch.func`` transforms (through their
  wrappers) and under ``torch.compile`` (at trace time for Python numbers, at run time
  for tensors).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ndpool.spec.constraints import ConstraintError, fail
from ndpool.spec.op import real_array
from ndpool.spec.registry import OPS

from .geometry import Plan, adaptive_plan, raised, sliding_plan
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


def position_input(value, xb: torch.Tensor, plan: Plan, name: str, dtype):
    """A ``position`` input: as :func:`channel_input`, or ``[C, *O]`` (one per channel and
    output position, shared by the batch) -> ``[1, C, *O]`` (C12)."""
    if is_number(value) or torch.as_tensor(value).ndim <= 1:
        return channel_input(value, xb, plan, name, dtype)
    p = torch.as_tensor(value)
    want = (xb.shape[1], *plan.spatial_out)
    if tuple(p.shape) != want:
        raise fail(
            "C12",
            f"{name} has shape {tuple(p.shape)}; expected (), ({want[0]},) or {want} (per "
            "channel and output position)",
        )
    return p.to(device=xb.device, dtype=dtype).unsqueeze(0)


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
    directly (NumPy conversion fails there even for tensors the transform does not wrap)."""
    return is_traced(value) or torch._C._functorch.peek_interpreter_stack() is not None


def readable(value: torch.Tensor) -> torch.Tensor:
    """The tensor under torch.func's wrappers (a vmap's batched values, a grad's or jvp's
    primal), whose values can be read."""
    while torch._C._functorch.is_functorch_wrapped_tensor(value):
        value = torch._C._functorch.get_unwrapped(value)
    return value.detach()


def values(value, name: str = "parameter", summary: bool = False) -> tuple[float, ...] | None:
    """What a parameter holds, for the spec's checks: ``None`` for an absent input; its
    values (``summary``: only the smallest and largest, for a large random draw). Its type
    is checked as the spec checks it (C24: real numbers, no strings, bools, complex)."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise fail("C24", f"{name} holds {value.dtype} values; it must be real numbers")
        flat = readable(value).double().reshape(-1)
    else:
        flat = torch.from_numpy(real_array(name, value).astype(np.float64).reshape(-1))
    if summary and flat.numel():
        lo, hi = torch.aminmax(flat)
        return (lo.item(), hi.item())
    return tuple(flat.tolist())


def check_values(op: str, params: dict, options: dict, draws: tuple[str, ...] = ()) -> None:
    """The spec's value and option checks of ``op`` (its numbered ValueError), given its
    inputs after ``x`` by name (``draws``: the large random draws, summarised by their
    extremes) and its options; under ``torch.func`` through the transform's wrappers.
    Under ``torch.compile`` a tensor parameter is checked eagerly (a graph break): its
    values exist only when the compiled code runs."""
    if torch.compiler.is_compiling() and any(isinstance(v, torch.Tensor) for v in params.values()):
        return _check_at_run_time(op, params, options, draws)
    raised(_check(op, tuple(params.items()), draws, tuple(options.items())))


@torch.compiler.disable
def _check_at_run_time(op: str, params: dict, options: dict, draws) -> None:
    check_values(op, params, options, draws)


# torch.compile does not trace the (NumPy) check: with constant arguments it runs once, in
# Python, while the graph is traced
@torch.compiler.assume_constant_result
def _check(op: str, params: tuple, draws: tuple, options: tuple) -> bool | str:
    """True, or the message of the constraint broken (see :func:`geometry.raised`)."""
    record = OPS[op]
    options = dict(options)
    try:
        specs = {s.name: s for s in record.input_specs}
        for name, value in params:
            if value is None and not specs[name].optional:
                raise fail("C24", f"{op}(): input {name!r} is required (not None)")
        read = [values(value, name, name in draws) for name, value in params]
        for option in record.options:
            if option.name in options:
                option.check(options[option.name])
        if record.check is not None:
            record.check([None if p is None else np.asarray(p) for p in read], options)
    except ConstraintError as exc:
        return str(exc)
    return True
