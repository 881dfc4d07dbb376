"""Ops whose derivatives are explicit first-order partials, not autograd's chain.

Quantile pooling (an implicit root: the implicit function theorem gives its partials)
and GeM pooling (a scaled power mean: its partials are ratios of scaled cells, while
autograd's chain through the scale would divide a tangent by a subnormal window maximum
and overflow) compute their value and partials together, as the spec does, and
:class:`ExplicitPartials` applies them:

    y_dot = sum_k dx_k w_dot_k + sum_j dparam_j param_dot_j      (forward mode)
    w_bar_k = dx_k y_bar,  param_bar_j = dparam_j y_bar            (reverse mode)

The partials are constants of the graph, so a second derivative through them would be
silently short of their own derivatives: :func:`first_order` makes one an error that
names the op instead.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters


def second_derivative_message(op: str) -> str:
    return (
        f"{op} has no second derivative (its backward applies explicit first-order "
        "partials): differentiate it once, without create_graph=True or nested "
        "torch.func transforms"
    )


def derivative_transforms() -> int:
    """How many ``torch.func`` derivative transforms (``grad``/``vjp``, ``jvp``) enclose
    the call; ``vmap`` layers (``jacrev``'s and ``jacfwd``'s batching, per-sample
    gradients) do not count: under one derivative transform a derivative is first order
    however many ``vmap`` layers wrap it. Under torch.compile, which cannot trace the
    transform stack, 0."""
    if torch.compiler.is_compiling():
        return 0
    kinds = torch._C._functorch.TransformType
    return sum(i.key() in (kinds.Grad, kinds.Jvp) for i in retrieve_all_functorch_interpreters())


def first_order(grads: tuple, anchor: torch.Tensor, op: str) -> tuple:
    """The backward's results, made to fail when differentiated again. Under
    ``create_graph=True`` each result passes through a node that raises
    :func:`second_derivative_message` when the engine reaches it (wired to ``anchor``, the
    op's input, so that a derivative with respect to the input does); under nested
    ``torch.func`` derivative transforms (``jacrev(jacrev(...))``, ``grad(grad(...))``,
    ``jvp(grad(...))``) the error is raised at once. A single ``torch.func.vjp`` /
    ``grad``, under any ``vmap`` layers (:func:`derivative_transforms`), is first
    order."""
    message = second_derivative_message(op)
    if derivative_transforms() >= 2:
        raise RuntimeError(message)
    if not torch.is_grad_enabled() or torch._C._functorch.is_functorch_wrapped_tensor(anchor):
        return grads
    error = torch._C._functions.DelayedError(message, 2)
    return tuple(g if g is None else error(g, anchor)[0] for g in grads)


class ExplicitPartials(torch.autograd.Function):
    """``compute(w, *params, *consts) -> (y, dx, *dparams)`` with its partials applied
    (see the module doc). ``w`` is ``[..., K]`` (the windows), ``dx`` its shape, each
    ``dparams[j]`` the shape of ``y``; a parameter may be smaller than ``y`` (a scalar,
    one per channel) and receives its cotangent summed to its shape. ``consts`` (the
    last ``n_consts`` tensors: masks, scales) are read by ``compute`` and carry no
    derivative; they are inputs, not captured by ``compute``, because a tensor captured
    from the transform levels above the Function (``jacfwd``'s ``jvp`` under its
    ``vmap``) cannot be read inside it. ``op`` names the op in errors. Returns the
    tuple; only ``y`` (its first element) is differentiable."""

    generate_vmap_rule = True

    @staticmethod
    def forward(compute: Callable, op: str, n_consts: int, w: torch.Tensor, *tensors):
        return compute(w, *tensors)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, op, n_consts, w, *tensors = inputs
        params = tensors[: len(tensors) - n_consts]
        partials = output[1:]
        ctx.mark_non_differentiable(*partials)
        ctx.save_for_backward(w, *partials)
        ctx.save_for_forward(*partials)
        ctx.op = op
        ctx.shapes = [p.shape for p in params]
        ctx.n_consts = n_consts

    @staticmethod
    def backward(ctx, y_bar, *_):
        w, dx, *dparams = ctx.saved_tensors
        consts = (None,) * ctx.n_consts
        if y_bar is None:
            return (None, None, None, None, *(None for _ in dparams), *consts)
        grads = (dx * y_bar.unsqueeze(-1),) + tuple(
            (dp * y_bar).sum_to_size(shape) for dp, shape in zip(dparams, ctx.shapes)
        )
        return (None, None, None, *first_order(grads, w, ctx.op), *consts)

    @staticmethod
    def jvp(ctx, _compute, _op, _n_consts, w_dot, *tensor_dots):
        dx, *dparams = ctx.saved_tensors
        y_dot = torch.zeros_like(dx[..., 0]) if w_dot is None else (dx * w_dot).sum(-1)
        for dp, p_dot in zip(dparams, tensor_dots):
            if p_dot is not None:
                y_dot = y_dot + dp * p_dot  # the spec's sum (NaN partials propagate)
        return (y_dot, *(None for _ in (dx, *dparams)))
