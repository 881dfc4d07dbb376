"""``torch.autograd.Function`` wrappers of the launchers: reverse mode (``backward``, the
deterministic gathers) and forward mode (``jvp``), so ``torch.autograd.gradcheck``,
``torch.autograd.forward_ad``, ``torch.func.jvp`` and ``torch.func.vjp`` run through the
kernels; and a ``vmap`` rule (:mod:`.batching`: vmapped dimensions folded into the
channel axis), so ``torch.func.vmap``, ``jacrev`` and ``jacfwd`` do too.

Inputs are batched ``[N, C, *S]`` tensors with resolved geometry (:class:`.geometry.Axes`);
``p`` and ``beta`` are 0-d or ``[C]`` tensors and differentiable. Max pooling returns
``(y, index)`` with a non-differentiable index.
"""

from __future__ import annotations

import torch

from . import batching, ops
from .geometry import Axes


def _rule(launcher, rule: str, args, roles: str, out_roles: str, saved):
    """Run a launcher for a ``backward`` or ``jvp`` rule on plain tensors, outside torch.func's
    transforms: under ``torch.func.jvp`` / ``vjp`` a rule runs at the transform's level,
    where the saved tensors, tangents and cotangents are wrapped, while a Triton kernel
    needs the storage itself; under ``vmap`` (``jacrev``'s pullback, ``jacfwd``'s batched
    tangents) the vmapped dimensions are folded into the channel axis and the outputs
    wrapped back (:func:`.batching.run_rule`; ``roles`` / ``out_roles`` name each argument
    and output).

    Where a transform would differentiate the rule (a derivative of a derivative: nested
    ``torch.func`` derivative transforms) the outer ones would take the plain result for a
    constant and differentiate it to zero: that is refused with ``NotImplementedError``, as
    plain autograd's double backward is (the rules are not differentiable themselves);
    ``saved`` (a tensor the Function saved) tells the transform the Function was applied
    under, whose own rule this is, from an outer one."""
    return batching.run_rule(launcher, rule, args, roles, out_roles, saved)


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
        args = (grad_y, index, ctx.axes)
        return _rule(ops.max_backward, "backward", args, "xx.", "x", index), None

    @staticmethod
    def jvp(ctx, x_dot, _axes_dot):
        (index,) = ctx.saved_tensors
        return _rule(ops.max_jvp, "jvp", (x_dot, index), "xx", "x", index), None

    @staticmethod
    def vmap(info, in_dims, x, axes):
        return batching.vmap_rule(MaxPool, info, in_dims, (x, axes), "x.")


class AvgPool(torch.autograd.Function):
    """Average (or adaptive average) pooling with the spec's divisor rule."""

    @staticmethod
    def forward(x, axes: Axes, count_include_pad: bool, divisor_override):
        return ops.avg_forward(x, axes, count_include_pad, divisor_override)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, ctx.axes, ctx.count_include_pad, ctx.divisor_override = inputs
        # nothing to keep but the transform it ran under (see ``_rule``): an empty tensor
        ctx.save_for_backward(x.new_empty(0))
        ctx.save_for_forward(x.new_empty(0))

    @staticmethod
    def backward(ctx, grad_y):
        args = (grad_y, ctx.axes, ctx.count_include_pad, ctx.divisor_override)
        (saved,) = ctx.saved_tensors
        return _rule(ops.avg_backward, "backward", args, "x...", "x", saved), None, None, None

    @staticmethod
    def jvp(ctx, x_dot, *_):
        args = (x_dot, ctx.axes, ctx.count_include_pad, ctx.divisor_override)
        (saved,) = ctx.saved_tensors
        return _rule(ops.avg_jvp, "jvp", args, "x...", "x", saved)

    @staticmethod
    def vmap(info, in_dims, x, axes, count_include_pad, divisor_override):
        args = (x, axes, count_include_pad, divisor_override)
        return batching.vmap_rule(AvgPool, info, in_dims, args, "x...")


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
        args = (grad_y, x, p, ctx.axes, ctx.sign, ctx.partial_window)
        grad_x, grad_p = _rule(ops.lp_backward, "backward", args, "xxc...", "xc", x)
        return grad_x, grad_p, None, None, None

    @staticmethod
    def jvp(ctx, x_dot, p_dot, *_):
        x, p = ctx.saved_tensors
        x_dot = torch.zeros_like(x) if x_dot is None else x_dot
        args = (x, p, x_dot, p_dot, ctx.axes, ctx.sign, ctx.partial_window)
        return _rule(ops.lp_jvp, "jvp", args, "xcxc...", "xx", x)[1]

    @staticmethod
    def vmap(info, in_dims, x, p, axes, sign, partial_window):
        args = (x, p, axes, sign, partial_window)
        return batching.vmap_rule(LpPool, info, in_dims, args, "xc...")


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
        args = (grad_y, x, beta, ctx.axes, ctx.padding_policy)
        grad_x, grad_beta = _rule(ops.smooth_max_backward, "backward", args, "xxc..", "xc", x)
        return grad_x, grad_beta, None, None

    @staticmethod
    def jvp(ctx, x_dot, beta_dot, *_):
        x, beta = ctx.saved_tensors
        x_dot = torch.zeros_like(x) if x_dot is None else x_dot
        args = (x, beta, x_dot, beta_dot, ctx.axes, ctx.padding_policy)
        return _rule(ops.smooth_max_jvp, "jvp", args, "xcxc..", "xx", x)[1]

    @staticmethod
    def vmap(info, in_dims, x, beta, axes, padding_policy):
        args = (x, beta, axes, padding_policy)
        return batching.vmap_rule(SmoothMaxPool, info, in_dims, args, "xc..")


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
    x: torch.Tensor, beta: torch.Tensor, axes: Axes, padding_policy: str
) -> torch.Tensor:
    """Smooth max pooling, differentiable in ``x`` and ``beta``; ``padding_policy``
    (``"zero"`` or ``"ignore"``) is always passed by the entry point, never defaulted."""
    return SmoothMaxPool.apply(x, beta, axes, padding_policy)
