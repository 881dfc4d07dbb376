"""The Triton path's entry points: ``max_pool``, ``avg_pool``, ``lp_pool``,
``smooth_max_pool``, ``adaptive_max_pool`` and ``adaptive_avg_pool`` with the signatures,
checks and semantics of their :mod:`ndpool.impl` namesakes.

Each function checks its inputs with ndpool.impl's own input layer
(:mod:`ndpool.impl.inputs`: the spec's numbered constraints, the same ``ValueError``),
turns the resolved window plan into per-axis geometry (:class:`.geometry.Axes`) and runs
the kernels through the autograd Functions of :mod:`.functions`, so ``backward``,
forward-mode AD and ``torch.func`` transforms run through the kernels too. Inputs are
``[N, C, *S]`` or unbatched ``[C, *S]`` (any spatial rank, ``N = 0`` allowed, any memory
layout), float16, bfloat16, float32 or float64; outputs have the input's dtype.

The kernels run on CUDA tensors when Triton compiles them, and on CPU tensors under
Triton's interpreter (``TRITON_INTERPRET=1`` set before this module is first imported);
a CPU tensor with compiled kernels is a ``RuntimeError``. The interpreter keeps bfloat16
as raw 16-bit patterns and converts them to and from float32 by its own bit arithmetic,
which truncates instead of rounding to nearest even and misreads subnormals; so under the
interpreter a bfloat16 input runs as float32 (an exact widening) and the result is
rounded to bfloat16 by torch (to nearest even), which is what the compiled kernels'
own bfloat16 loads and stores do on a GPU.

>>> import torch
>>> x = torch.tensor([[[1.0, 5.0, 5.0, 2.0, 7.0]]])
>>> max_pool(x, kernel_size=(3,), stride=2, padding=1, return_indices=True)
(tensor([[[5., 5., 7.]]]), tensor([[[1, 1, 4]]]))
"""

from __future__ import annotations

import torch
from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters
from torch.autograd import forward_ad

from ndpool.spec.constraints import check_flag

from ..geometry import Plan
from ..inputs import adaptive_input, channel_input, check_values, sliding_input, unbatch
from . import batching, functions, ops
from . import kernels as _kernels
from .geometry import Axes, adaptive_axes, sliding_axes


def interpreted() -> bool:
    """Whether the kernels were defined under Triton's interpreter (``TRITON_INTERPRET=1``
    when :mod:`.kernels` was imported): then they run on CPU tensors, NumPy doing the work."""
    from triton.runtime.interpreter import InterpretedFunction

    return isinstance(_kernels.max_forward_kernel, InterpretedFunction)


def _check_device(x: torch.Tensor) -> None:
    if x.device.type == "cpu" and not interpreted():
        raise RuntimeError(
            "ndpool.impl.triton runs CPU tensors only under Triton's interpreter: set "
            "TRITON_INTERPRET=1 in the environment before ndpool.impl.triton's kernels "
            "are first imported, or pass CUDA tensors"
        )


def _axes(plan: Plan) -> Axes:
    """The kernels' geometry for a resolved sliding or adaptive plan."""
    if plan.kernel is None:
        return adaptive_axes(plan.spatial_in, plan.spatial_out)
    return sliding_axes(
        plan.spatial_in,
        plan.kernel,
        plan.stride,
        plan.dilation,
        [(a.pad_begin, a.pad_end) for a in plan.axes],
        plan.spatial_out,
    )


def _kernel_input(xb: torch.Tensor) -> torch.Tensor:
    """The tensor the kernels read, once every input is checked: ``xb`` (on a device the
    kernels run on), or a bfloat16 ``xb`` widened to float32 under the interpreter (see
    the module doc)."""
    _check_device(xb)
    batching.refuse_legacy([xb])
    if xb.dtype == torch.bfloat16 and interpreted():
        return xb.float()
    return xb


def _finish(y: torch.Tensor, plan: Plan, dtype: torch.dtype) -> torch.Tensor:
    """An output of the kernels, unbatched as the input was, in the input's dtype."""
    return unbatch(y, plan).to(dtype)


def _channel_param(value, xb: torch.Tensor, plan: Plan, name: str) -> torch.Tensor:
    """A per-channel parameter checked as ndpool.impl checks it (C12), as the 0-d or
    ``[C]`` tensor the autograd Functions take: a tensor in the input's dtype, a number as
    a constant float64 0-d tensor (its exact value, as ndpool.impl uses it)."""
    p = channel_input(value, xb, plan, name, xb.dtype)
    if isinstance(p, float):
        return torch.tensor(p, dtype=torch.float64, device=xb.device)
    return p.reshape(-1) if p.ndim else p


def _sliding(x: torch.Tensor, kernel_size, stride, padding, dilation, ceil_mode):
    plan, xb = sliding_input(
        x,
        dict(
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
        ),
    )
    return plan, xb


def _values_only(x: torch.Tensor) -> bool:
    """Whether a max pool of ``x`` needs no index: no derivative can be taken (no grad
    needed, no forward-mode tangent, no torch.func transform active)."""
    if torch.is_grad_enabled() and x.requires_grad:
        return False
    if retrieve_all_functorch_interpreters():
        return False
    return forward_ad.unpack_dual(x).tangent is None


def _selection(plan: Plan, xb: torch.Tensor, return_indices: bool):
    check_flag("return_indices", return_indices)
    x = _kernel_input(xb)
    if not return_indices and _values_only(x):
        return _finish(ops.max_values(x, _axes(plan)), plan, xb.dtype)
    y, index = functions.max_pool(x, _axes(plan))
    y = _finish(y, plan, xb.dtype)
    return (y, unbatch(index, plan)) if return_indices else y


def max_pool(
    x: torch.Tensor,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Max over every window (:func:`ndpool.impl.max_pool`): padded cells are absent, the
    first NaN in row-major window order wins and propagates, else the first maximizer;
    a window with no real cell gives -inf and index -1. Indices are int64 flat indices
    into the ``[*S]`` plane."""
    plan, xb = _sliding(x, kernel_size, stride, padding, dilation, ceil_mode)
    return _selection(plan, xb, return_indices)


def adaptive_max_pool(x: torch.Tensor, *, output_size, return_indices: bool = False):
    """Max over adaptive bins ``[floor(i*L/n), ceil((i+1)*L/n))`` on every axis
    (:func:`ndpool.impl.adaptive_max_pool`), with max pooling's winner rule."""
    plan, xb = adaptive_input(x, output_size)
    return _selection(plan, xb, return_indices)


def avg_pool(
    x: torch.Tensor,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
):
    """Mean over every window (:func:`ndpool.impl.avg_pool`): the sum of the real cells
    over ``divisor_override`` if given, else the window's cells inside the padded extent
    (``count_include_pad``; a ceil_mode overhang is not counted) or its real cells; a
    zero divisor gives NaN (with a zero derivative)."""
    plan, xb = _sliding(x, kernel_size, stride, padding, dilation, ceil_mode)
    options = {"count_include_pad": count_include_pad, "divisor_override": divisor_override}
    check_values("avg_pool", {}, options)
    y = functions.avg_pool(
        _kernel_input(xb), _axes(plan), bool(count_include_pad), divisor_override
    )
    return _finish(y, plan, x.dtype)


def adaptive_avg_pool(x: torch.Tensor, *, output_size):
    """Mean over adaptive bins (:func:`ndpool.impl.adaptive_avg_pool`)."""
    plan, xb = adaptive_input(x, output_size)
    return _finish(functions.avg_pool(_kernel_input(xb), _axes(plan), False, None), plan, x.dtype)


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
    reduction: str = "sum",
):
    """``(sum_i t_i^p)^(1/p)`` over the real cells of every window
    (:func:`ndpool.impl.lp_pool`); ``norm_type`` p is a number, a 0-d or a ``[C]``
    tensor (differentiable), ``p = inf`` is ``max |x|`` with the winner rule. The kernels
    compute the sum reduction only (:data:`ndpool.impl.triton.KERNEL_OPTIONS`):
    ``reduction="mean"`` is an error here, and ndpool.impl runs it on its torch path."""
    plan, xb = _sliding(x, kernel_size, stride, padding, dilation, ceil_mode)
    check_values("lp_pool", {"norm_type": norm_type}, {"sign": sign, "reduction": reduction})
    if reduction != "sum":
        raise NotImplementedError(
            f"the Triton kernels compute lp_pool's reduction='sum' only, not {reduction!r} "
            "(ndpool.impl.lp_pool runs it on its torch path)"
        )
    p = _channel_param(norm_type, xb, plan, "norm_type")
    y = functions.lp_pool(_kernel_input(xb), p, _axes(plan), sign, "sum")
    return _finish(y, plan, x.dtype)


def smooth_max_pool(
    x: torch.Tensor,
    beta,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    padding_policy: str = "zero",
):
    """``(1/beta) log sum_i exp(beta x_i)`` over every window
    (:func:`ndpool.impl.smooth_max_pool`); ``beta`` is a number, a 0-d or a ``[C]``
    tensor (differentiable); ``padding_policy`` ``"zero"`` (default: cells inside the
    padded extent take part as 0) or ``"ignore"`` (padded cells absent)."""
    plan, xb = _sliding(x, kernel_size, stride, padding, dilation, ceil_mode)
    check_values("smooth_max_pool", {"beta": beta}, {"padding_policy": padding_policy})
    b = _channel_param(beta, xb, plan, "beta")
    y = functions.smooth_max_pool(_kernel_input(xb), b, _axes(plan), padding_policy)
    return _finish(y, plan, x.dtype)


#: every entry point by its op name (the names of ``ndpool.impl.OPS``)
OPS = {
    fn.__name__: fn
    for fn in (max_pool, avg_pool, lp_pool, smooth_max_pool, adaptive_max_pool, adaptive_avg_pool)
}
