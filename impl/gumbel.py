"""Gumbel-softmax pooling with the noise explicit (spec: ``ndpool.spec.gumbel``).

Train: the value is ``x_{i*}``, ``i* = first argmax (x / T + g)`` over the real cells
(the spec's winner rule, :func:`ndpool.impl.windows.first_maximizer`); the
derivatives are a straight-through estimator. ``estimator="hard"`` (default, torch's
``gumbel_softmax(hard=True)``): those of ``x_{i*} + sum_i pi_i stop_gradient(x_i)``
with ``pi = softmax(x / T + g)``, i.e. ``h_j + pi_j (x_j - y~) / T`` for ``x_j``;
``"soft"``: those of the soft sample ``y~ = sum_i pi_i x_i``. It is written as
``hard.detach() + StraightThrough(estimate)``, where :class:`StraightThrough` is 0 in
value and the identity in its derivatives (``soft - soft.detach()`` would be NaN, not 0,
in a window whose soft sample is not finite, e.g. one holding an infinity): the value is
``hard``, and backward, forward mode and ``torch.func`` all see the estimator's
derivative only. Eval: ``y~`` at ``g = 0``.

The scores are formed in the compute dtype (float64 for float64 input, float32
otherwise); the spec forms them in float64, so for narrower dtypes the argmax may
differ where the best two scores are within a few ulps (see the spec's
``selection_margin``).
"""

from __future__ import annotations

import torch

from .inputs import (
    check_values,
    compute_dtype,
    draw_input,
    position_input,
    sliding_input,
    unbatch,
)
from .soft import soft_sample
from .windows import first_maximizer, gather, pick, real_mask


class StraightThrough(torch.autograd.Function):
    """``-0`` in value (an exact zero, whatever the input), the identity in derivatives.

    Negative zero, because ``v + (-0) == v`` for every ``v`` including ``-0``, while
    ``-0 + 0 == +0`` would flip the sign of a selected ``-0`` cell."""

    generate_vmap_rule = True

    @staticmethod
    def forward(soft):
        return torch.full_like(soft, -0.0)

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, tangent):
        return tangent


def gumbel_pool(
    x: torch.Tensor,
    temperature,
    g=None,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    mode: str = "train",
    estimator: str = "hard",
) -> torch.Tensor:
    """``x_{i*}``, ``i* = argmax(x / T + g)`` (train, straight-through derivatives: the
    ``"hard"`` or ``"soft"`` estimator) or ``sum softmax(x / T)_i x_i`` (eval) over the
    real cells of every window.

    >>> import torch
    >>> x = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    >>> g = torch.tensor([[[[5.0, 0.0], [0.0, 0.0]]]])           # scores [6 2] [3 4]
    >>> gumbel_pool(x, 1.0, g, kernel_size=2)
    tensor([[[1., 4.]]])
    """
    plan, xb = sliding_input(x, dict(kernel_size=kernel_size, stride=stride, padding=padding,
                             dilation=dilation, ceil_mode=ceil_mode))  # fmt: skip
    cdt = compute_dtype(x.dtype)
    train = mode == "train"
    check_values(
        "gumbel_pool",
        {"temperature": temperature, "g": g if train else None},
        {"mode": mode, "estimator": estimator},
        draws=("g",),
    )
    t = position_input(temperature, xb, plan, "temperature", cdt)
    w = gather(xb.to(cdt), plan)
    real = real_mask(plan, x.device)
    t_k = t.unsqueeze(-1) if isinstance(t, torch.Tensor) and t.ndim else t
    scores = w / t_k
    if train:
        scores = scores + draw_input(g, xb, plan, "g", "cell", cdt)
    if not train:
        return unbatch(soft_sample(w, scores, real), plan).to(x.dtype)
    sel = first_maximizer(scores, real)
    hard = pick(w, sel, float("nan"))
    if estimator == "hard":  # d/dx of x_{i*} + sum_i pi_i stop_gradient(x_i)
        estimate = pick(w, sel, 0.0) + soft_sample(w.detach(), scores, real)
    else:
        estimate = soft_sample(w, scores, real)
    y = hard.detach() + StraightThrough.apply(estimate)
    return unbatch(y, plan).to(x.dtype)


def sample_gumbel(shape, *, generator=None, dtype=torch.float64, device=None) -> torch.Tensor:
    """Standard Gumbel noise ``-log E``, ``E ~ Exp(1)`` (``= -log(-log U)``), from torch's
    generator; ``E`` is kept above the smallest normal number so ``g`` is finite."""
    e = torch.empty(shape, dtype=dtype, device=device).exponential_(generator=generator)
    return -e.clamp(min=torch.finfo(dtype).tiny).log()
