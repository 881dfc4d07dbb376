"""``torch.autograd.Function`` wrappers of the launchers: reverse mode (``backward``, the
deterministic gathers) and forward mode (``jvp``), so ``torch.autograd.gradcheck``,
``torch.autograd.forward_ad``, ``torch.func.jvp`` and ``torch.func.vjp`` run through the
kernels.

Inputs are batched ``[N, C, *S]`` tensors with resolved geometry (:class:`.geometry.Axes`);
``p`` and ``beta`` are 0-d or ``[C]`` tensors and differentiable. Max pooling returns
``(y, index)`` with a non-differentiable index.
"""

from __future__ import annotations

import torch

from . import ops
from .geometry import Axes


def _plain(t):
    """The plain tensor under torch.func's wrappers."""
    while isinstance(t, torch.Tensor) and torch._C._functorch.is_functorch_wrapped_tensor(t):
        t = torch._C._functorch.get_unwrapped(t)
    return t


def _plain_call(launcher, *args):
    """Run a launcher on plain tensors, outside torch.func's transforms: under
    ``torch.func.jvp`` / ``torch.func.vjp`` a rule (``jvp``, ``backward``) runs at the
    transform's level, where the saved tensors, tangents and cotangents are wrapped and
    every new tensor would be too, while a Triton kernel needs the storage itself. The
    plain result is lifted back by torch.func.

    Under two or more transforms (a derivative of a derivative) the outer ones would take
    the lifted result for a constant and differentiate it to zero: that is refused, as
    plain autograd's double backward is (the rules are not differentiable themselves)."""
    if len(torch._functorch.pyfunctorch.retrieve_all_functorch_interpreters()) > 1:
        raise NotImplementedError(
            "ndpool.impl.triton: the kernels' JVP and VJP rules are not differentiable; "
            "a derivative of a derivative (nested torch.func transforms) is not supported"
        )
    args = [_plain(a) for a in args]
    with torch._functorch.pyfunctorch.temporarily_clear_interpreter_stack():
        return launcher(*args)


class MaxPool(torch.autograd.Function):
    """Max (or adaptive max) pooling: ``(y, index)``; derivatives through the index."""

    @staticmethod
    def forward(x: torch.Tensor, axes: Axes):
        return ops.max_forward(x, axes)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, axes = inputs
        _, index = output
        ctx.axes = axes
        ctx.mark_non_differentiable(index)
        ctx.save_for_backward(index)
        ctx.save_for_forward(index)

    @staticmethod
    def backward(ctx, grad_y, _grad_index):
        (index,) = ctx.saved_tensors
        return _plain_call(ops.max_backward, grad_y, index, ctx.axes), None

    @staticmethod
    def jvp(ctx, x_dot, _axes_dot):
        (index,) = ctx.saved_tensors
        return _plain_call(ops.max_jvp, x_dot, index), None


class AvgPool(torch.autograd.Function):
    """Average (or adaptive average) pooling with the spec's divisor rule."""

    @staticmethod
    def forward(x, axes: Axes, count_include_pad: bool, divisor_override):
        return ops.avg_forward(x, axes, count_include_pad, divisor_override)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, ctx.axes, ctx.count_include_pad, ctx.divisor_override = inputs

    @staticmethod
    def backward(ctx, grad_y):
        grad_x = _plain_call(
            ops.avg_backward, grad_y, ctx.axes, ctx.count_include_pad, ctx.divisor_override
        )
        return grad_x, None, None, None

    @staticmethod
    def jvp(ctx, x_dot, *_):
        return _plain_call(
            ops.avg_jvp, x_dot, ctx.axes, ctx.count_include_pad, ctx.divisor_override
        )


class LpPool(torch.autograd.Function):
    """Lp pooling; ``p`` (0-d or ``[C]``) is differentiable."""

    @staticmethod
    def forward(x, p, axes: Axes, sign: str, partial_window: str):
        return ops.lp_forward(x, p, axes, sign, partial_window)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, p, ctx.axes, ctx.sign, ctx.partial_window = inputs
        ctx.save_for_backward(x, p)
        ctx.save_for_forward(x, p)

    @staticmethod
    def backward(ctx, grad_y):
        x, p = ctx.saved_tensors
        grad_x, grad_p = _plain_call(
            ops.lp_backward, grad_y, x, p, ctx.axes, ctx.sign, ctx.partial_window
        )
        return grad_x, grad_p, None, None, None

    @staticmethod
    def jvp(ctx, x_dot, p_dot, *_):
        x, p = ctx.saved_tensors
        x_dot = torch.zeros_like(x) if x_dot is None else x_dot
        y_dot = _plain_call(ops.lp_jvp, x, p, x_dot, p_dot, ctx.axes, ctx.sign, ctx.partial_window)
        return y_dot[1]


class SmoothMaxPool(torch.autograd.Function):
    """Smooth max pooling; ``beta`` (0-d or ``[C]``) is differentiable."""

    @staticmethod
    def forward(x, beta, axes: Axes, padding_policy: str):
        return ops.smooth_max_forward(x, beta, axes, padding_policy)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, beta, ctx.axes, ctx.padding_policy = inputs
        ctx.save_for_backward(x, beta)
        ctx.save_for_forward(x, beta)

    @staticmethod
    def backward(ctx, grad_y):
        x, beta = ctx.saved_tensors
        grad_x, grad_beta = _plain_call(
            ops.smooth_max_backward, grad_y, x, beta, ctx.axes, ctx.padding_policy
        )
        return grad_x, grad_beta, None, None

    @staticmethod
    def jvp(ctx, x_dot, beta_dot, *_):
        x, beta = ctx.saved_tensors
        x_dot = torch.zeros_like(x) if x_dot is None else x_dot
        y_dot = _plain_call(
            ops.smooth_max_jvp, x, beta, x_dot, beta_dot, ctx.axes, ctx.padding_policy
        )
        return y_dot[1]


def max_pool(x: torch.Tensor, axes: Axes) -> tuple[torch.Tensor, torch.Tensor]:
    """``(y, index)`` of max (or adaptive max) pooling, differentiable in ``x``."""
    return MaxPool.apply(x, axes)


def avg_pool(
    x: torch.Tensor, axes: Axes, count_include_pad: bool = True, divisor_override=None
) -> torch.Tensor:
    """Average (or adaptive average, with ``count_include_pad=False``) pooling."""
    return AvgPool.apply(x, axes, count_include_pad, divisor_override)


def lp_pool(
    x: torch.Tensor, p: torch.Tensor, axes: Axes, sign: str = "abs", partial_window: str = "sum"
) -> torch.Tensor:
    """Lp pooling, differentiable in ``x`` and ``p``."""
    return LpPool.apply(x, p, axes, sign, partial_window)


def smooth_max_pool(
    x: torch.Tensor, beta: torch.Tensor, axes: Axes, padding_policy: str = "ignore"
) -> torch.Tensor:
    """Smooth max pooling, differentiable in ``x`` and ``beta``."""
    return SmoothMaxPool.apply(x, beta, axes, padding_policy)
