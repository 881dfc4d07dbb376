"""Smooth max pooling: ``(1/beta) log sum_i exp(beta x_i)`` over every window.

Log-sum-exp is associative over a box window (the log-sum-exp of per-row
log-sum-exps is the log-sum-exp of the window), so it is reduced one axis at a
time like a sum, in units of x: ``m + log(sum exp(beta (x - m))) / beta`` with the
window max ``m``, so ``beta x``, which may overflow where the result does not, is never
formed. The partial results between axes are kept in parts, the max ``m`` (an exact
cell) and the sum (:class:`ndpool.impl.separable.LogSumExp`), never rounded to
``m + log(sum) / beta``: the derivatives of a rounded partial result are off by ``beta``
times its rounding error. ``padding_policy``:

- ``"zero"`` (default, the spec's): cells inside the padded extent take part with
  the value 0 (ceil overhang never does). A padded *row* of an outer axis then
  stands for the inner partial windows of zeros, whose smooth max is
  ``log(count) / beta`` with ``count`` the number of in-extent inner cells, so that
  is its fill (in parts: ``(0, count)``);
- ``"ignore"``: padded cells are absent (-inf).

Derivatives are autograd's through the stable formula (double backward
included); infinite windows have zero derivatives, NaN windows NaN ones.
"""

from __future__ import annotations

from itertools import repeat

import torch

from . import native
from .geometry import Plan, per_output
from .inputs import channel_input, check_values, unbatch
from .separable import (
    LogSumExp,
    all_finite,
    logsumexp_cells,
    logsumexp_parts,
    logsumexp_value,
    reduction_input,
    taps,
)
from .triton import routed

NEG_INF = float("-inf")


def _zero_count(plan: Plan, a: int, like: torch.Tensor) -> torch.Tensor:
    """Under ``"zero"``, a padded cell of the outer axis ``a`` (not the innermost, whose
    padded cells are zeros) stands for the inner partial window of zeros, whose
    log-sum-exp in parts is ``(0, count)``: ``count`` its in-extent cells."""
    inner = [ax.extent_count for ax in plan.axes[a + 1 :]]
    return per_output(inner, like.dtype, like.device)


def _no_neg_inf_fill(plan: Plan, policy: str) -> bool:
    """No tap holds -inf for a cell that is not there: no ceil_mode overhang and, under
    ``"ignore"``, no padding (``"zero"`` fills padding with 0)."""
    return all(
        ax.pad_after <= ax.pad_end and (policy == "zero" or not ax.has_absent) for ax in plan.axes
    )


def _smooth_max(x: torch.Tensor, beta, plan: Plan, policy: str) -> torch.Tensor:
    """Reduced one axis at a time, innermost first, the partial results kept in parts
    (:class:`~ndpool.impl.separable.LogSumExp`) and combined at the end."""
    lse = None
    finite_x = all_finite(x)
    # the carrier only passes NaN derivatives on to the cells of infinite windows; the
    # masks of the general path keep a forward-mode tangent from meeting 0 * inf
    carry = native.tracks_derivatives(x) and not finite_x
    finite = finite_x and _no_neg_inf_fill(plan, policy) and not native.in_forward_ad()
    for a in reversed(range(plan.d)):
        ax, dim = plan.axes[a], x.ndim - plan.d + a
        zero = policy == "zero"
        if lse is None:
            cells = taps(x, dim, ax, 0.0 if zero else NEG_INF, NEG_INF)
            lse = logsumexp_cells(cells, beta, carry, finite)
            continue
        parts = zip(
            taps(lse.top, dim, ax, 0.0 if zero else NEG_INF, NEG_INF),
            taps(lse.total, dim, ax, _zero_count(plan, a, x) if zero else 0.0, 0.0),
            taps(lse.carrier, dim, ax, 0.0, 0.0) if carry else repeat(None),
        )
        lse = logsumexp_parts([LogSumExp(*p) for p in parts], beta, finite)
    return logsumexp_value(lse, beta, finite)


@routed
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
    """``(1/beta) log sum exp(beta x)`` over every window.

    >>> import torch
    >>> y = smooth_max_pool(torch.tensor([[[0.0, 0.0, 1.0, 1.0]]]), 1.0, kernel_size=2)
    >>> torch.allclose(y, torch.tensor([[[0.6931, 1.6931]]]), atol=1e-4)
    True
    """
    geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                    ceil_mode=ceil_mode)  # fmt: skip
    plan, xb = reduction_input(x, geometry)
    check_values("smooth_max_pool", {"beta": beta}, {"padding_policy": padding_policy})
    b = channel_input(beta, xb, plan, "beta", xb.dtype)
    y = _smooth_max(xb, b, plan, padding_policy)
    return unbatch(y, plan).to(x.dtype)
