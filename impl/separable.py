"""Separable window reductions: reduce a box window one spatial axis at a time.

A box window is the product of its axes' taps, so any reduction that is
associative over a window (sum, max, log-sum-exp) can be done axis by axis:
reduce the taps of the innermost axis for every output position of that axis,
then the next axis over those partial results, and so on. Each output costs
``sum_a K_a`` instead of ``prod_a K_a`` operations.

Per axis the reductions run *tap by tap* (:func:`taps`): tap ``j`` of every
window along the axis is a strided view of the (padded) tensor, so a stage is
``K`` elementwise ops (``maximum``, ``add``, the log-sum-exp terms) on
output-sized views: vectorized, and nothing is copied but the padding (a sliding
window sum, :func:`_sliding_sum`, does without even that: each tap adds over the
outputs it reads a real cell for), so peak extra memory is a small multiple of
input + output, never a K-fold expansion. A window sum's backward is its adjoint
(:class:`_SlidingSum`: K strided adds into one buffer); the winner *selection*
(:mod:`ndpool.impl.selection`) scans the same tap views. The research poolers and
the rescaled Lp sum read ``unfold`` views (:func:`windows`), a trailing window
dimension without a copy. Adaptive axes are read with ``index_select`` (one axis at
a time, a K_a-fold copy of that axis only).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F

from . import native
from .geometry import AdaptiveAxis, Plan, SlidingAxis, bin_index, bin_real, read_mask
from .inputs import compute_dtype, sliding_input

Fill = float | torch.Tensor


def pad_axis(t: torch.Tensor, dim: int, before: int, after: int, fill: Fill) -> torch.Tensor:
    """Pad (``after < 0``: trim) dimension ``dim``; ``fill`` is a scalar or a tensor
    broadcastable to the padding block (used for per-position fills). A trim longer than
    the axis (every window lies in the begin padding, possible with any padding >= 0) cuts
    the rest from ``before``."""
    if after < 0:
        keep = t.shape[dim] + after
        if keep < 0:  # the windows end in the begin padding: they read padding only
            before, keep = before + keep, 0
        t = t.narrow(dim, 0, keep)
        after = 0
    if before == 0 and after == 0:
        return t
    if not isinstance(fill, torch.Tensor):
        pads = [0, 0] * (t.ndim - 1 - dim) + [before, after]
        return F.pad(t, pads, value=fill)
    parts = []
    for size in (before, None, after):
        if size is None:
            parts.append(t)
        elif size:
            shape = list(t.shape)
            shape[dim] = size
            parts.append(fill.to(t.dtype).expand(shape))
    return torch.cat(parts, dim=dim)


def _padded(t: torch.Tensor, dim: int, ax: SlidingAxis, fill: Fill, overhang: Fill | None):
    """``t`` padded (or trimmed) along ``dim`` to exactly the cells its windows span."""
    after = ax.pad_after
    if overhang is None or after <= ax.pad_end:
        return pad_axis(t, dim, ax.pad_begin, after, fill)
    t = pad_axis(t, dim, ax.pad_begin, ax.pad_end, fill)
    return pad_axis(t, dim, 0, after - ax.pad_end, overhang)


def sliding_windows(
    t: torch.Tensor, dim: int, ax: SlidingAxis, fill: Fill, overhang: Fill | None = None
) -> torch.Tensor:
    """``[..., L, ...] -> [..., out, ..., K]``: the taps of every window along ``dim``.

    Padded extent cells hold ``fill``, ceil_mode overhang cells ``overhang``
    (default: ``fill``).
    """
    w = _padded(t, dim, ax, fill, overhang).unfold(dim, ax.eff, ax.stride)
    if ax.dilation > 1:
        w = w[..., :: ax.dilation]
    return w


def taps(
    t: torch.Tensor, dim: int, ax, fill: Fill, overhang: Fill | None = None
) -> list[torch.Tensor]:
    """``[..., L, ...] -> K x [..., out, ...]``: tap ``j`` of every window along ``dim``.

    The form for reductions done tap by tap with elementwise ops (vectorized, no
    K-fold copy, and a backward that writes one input-sized gradient per tap, where
    selecting from an ``unfold`` view would allocate a K-fold one). A sliding axis
    gives strided views of the padded tensor (``fill``/``overhang`` as in
    :func:`sliding_windows`); an adaptive axis one ``index_select`` per tap (a short
    bin repeats its last cell: see :func:`repeat_free`).
    """
    if isinstance(ax, AdaptiveAxis):
        index = bin_index(ax, t.device)
        return [t.index_select(dim, index[:, j]) for j in range(ax.taps)]
    t = _padded(t, dim, ax, fill, overhang)
    head = (slice(None),) * dim
    span = (ax.out - 1) * ax.stride + 1
    starts = range(0, ax.eff, ax.dilation)
    return [t[head + (slice(j, j + span, ax.stride),)] for j in starts]


def repeat_free(views: list[torch.Tensor], dim: int, ax) -> list[torch.Tensor]:
    """Taps of an adaptive axis with a short bin's repeated cells zeroed (for sums);
    ``where``, not a product: a repeated +-inf or NaN cell times 0 would be NaN."""
    if not (isinstance(ax, AdaptiveAxis) and ax.has_repeats):
        return views
    real = bin_real(ax, views[0].device)
    trailing = (1,) * (views[0].ndim - 1 - dim)
    return [
        torch.where(real[:, j].reshape((ax.out,) + trailing), v, 0.0) for j, v in enumerate(views)
    ]


def tap_sum(views, fresh: bool = False) -> torch.Tensor:
    """The sum of the taps (any iterable, taken one at a time), in tap order, added in
    place into one new tensor (an addition's backward keeps none of its inputs);
    ``fresh``: the taps are new tensors that no backward reads, so the first one is
    added to in place itself."""
    views = iter(views)
    total = next(views)
    for i, v in enumerate(views):
        total = total + v if i == 0 and not fresh else total.add_(v)
    return total


def tap_maximum(views: list[torch.Tensor], in_place: bool = False) -> torch.Tensor:
    """The elementwise maximum of the taps (NaN propagates; which of -0.0 and +0.0 it
    keeps is unspecified: :func:`box_max` repairs zero signs). ``in_place``: no
    derivative flows through the taps and no ``torch.func`` transform is on (it has no
    ``out=``): one new tensor, the maximum taken into it."""
    top = views[0]
    for i, v in enumerate(views[1:]):
        top = torch.maximum(top, v, out=top) if in_place and i else torch.maximum(top, v)
    return top


def adaptive_windows(t: torch.Tensor, dim: int, ax: AdaptiveAxis) -> torch.Tensor:
    """``[..., L, ...] -> [..., out, ..., K]``; a short bin repeats its last cell."""
    index = bin_index(ax, t.device).reshape(-1)
    w = t.index_select(dim, index).unflatten(dim, (ax.out, ax.taps))
    return w.movedim(dim + 1, -1)


def windows(t: torch.Tensor, dim: int, ax, fill: Fill, overhang: Fill | None = None):
    """The windows of ``t`` along ``dim`` for either axis kind (adaptive: no padding)."""
    if isinstance(ax, AdaptiveAxis):
        return adaptive_windows(t, dim, ax)
    return sliding_windows(t, dim, ax, fill, overhang)


def reduce_axes(
    x: torch.Tensor, plan: Plan, stage: Callable[[torch.Tensor, int, int], torch.Tensor]
) -> torch.Tensor:
    """Apply ``stage(t, dim, axis_number)`` to every spatial axis, innermost first."""
    for a in reversed(range(plan.d)):
        x = stage(x, x.ndim - plan.d + a, a)
    return x


def box_sum(x: torch.Tensor, plan: Plan) -> torch.Tensor:
    """Sum of the real cells of every window (padding and repeats add nothing).

    The axes are summed outermost first (a sum's order does not matter, unlike a
    selection's): the innermost axis, whose strided taps do not vectorize, then runs on
    the smallest tensor."""
    for a in range(plan.d):
        ax = plan.axes[a]
        dim = x.ndim - plan.d + a
        if isinstance(ax, SlidingAxis) and not torch.compiler.is_compiling():
            # (dynamo does not trace a custom jvp; compiled, the views are fused anyway)
            x = _SlidingSum.apply(x, dim, ax)
        else:
            x = tap_sum(repeat_free(taps(x, dim, ax, 0.0), dim, ax))
    return x


def _dense(t: torch.Tensor, dim: int, ax: SlidingAxis) -> SlidingAxis | None:
    """The stride-1 twin of an innermost axis whose windows overlap a lot (K >= 2 x
    stride): its window sums at every position, then every stride-th kept, cost K
    vectorized adds at the input's size instead of K strided (unvectorized) ones at the
    output's (below 2 x stride the strided adds are cheaper).
    Only the fields :func:`_real_taps` reads are the twin's own (the ``has_*`` flags
    still describe the strided axis)."""
    if dim != t.ndim - 1 or ax.stride == 1 or ax.kernel < 2 * ax.stride:
        return None
    return dataclasses.replace(ax, stride=1, out=(ax.out - 1) * ax.stride + 1)


def _real_taps(ax: SlidingAxis):
    """Per tap: ``(first, count, start)``: the outputs ``first .. first + count - 1`` read
    a real cell at this tap, the first of them cell ``start`` (then every stride-th)."""
    for j in range(0, ax.eff, ax.dilation):
        # output i reads cell i * stride + j - pad_begin; the ones inside [0, length)
        first = max(0, -((j - ax.pad_begin) // ax.stride))
        last = min(ax.out - 1, (ax.length - 1 + ax.pad_begin - j) // ax.stride)
        if last >= first:
            yield first, last - first + 1, first * ax.stride + j - ax.pad_begin


def _cells(t: torch.Tensor, dim: int, ax: SlidingAxis, count: int, start: int):
    """The ``count`` cells from ``start`` along ``dim``, every stride-th (a view)."""
    cells = t.narrow(dim, start, (count - 1) * ax.stride + 1)
    if ax.stride > 1:
        cells = cells[(slice(None),) * dim + (slice(None, None, ax.stride),)]
    return cells


def _sliding_sum(t: torch.Tensor, dim: int, ax: SlidingAxis) -> torch.Tensor:
    """The window sums along ``dim``: each tap added, over the outputs it reads a real
    cell for, into one output that the first two taps covering every output start (or
    zeros, if fewer do); no padded copy of ``t``."""
    dense = _dense(t, dim, ax)
    if dense is not None:
        return _sliding_sum(t, dim, dense)[..., :: ax.stride]
    # taps reading a real cell for every output start the sum (an allocating add, as
    # tap_sum); the others add over their outputs into it
    full, partial = [], []
    for first, count, start in _real_taps(ax):
        (full if count == ax.out else partial).append((first, count, start))
    if len(full) >= 2:
        total = _cells(t, dim, ax, ax.out, full[0][2]) + _cells(t, dim, ax, ax.out, full[1][2])
        full = full[2:]
    else:
        shape = list(t.shape)
        shape[dim] = ax.out
        total = t.new_zeros(shape)
    for first, count, start in full + partial:
        total.narrow(dim, first, count).add_(_cells(t, dim, ax, count, start))
    return total


def _sliding_sum_transpose(g: torch.Tensor, dim: int, ax: SlidingAxis) -> torch.Tensor:
    """The adjoint of :func:`_sliding_sum`: every output's value added to the real cells
    of its taps (K strided adds into one zeroed input-sized buffer; for a
    :func:`_dense` axis, g spread onto the stride-1 positions first, then K contiguous
    adds)."""
    dense = _dense(g, dim, ax)
    if dense is not None:
        spread = g.new_zeros((*g.shape[:-1], dense.out))
        spread[..., :: ax.stride] = g
        g, ax = spread, dense
    shape = list(g.shape)
    shape[dim] = ax.length
    buf = g.new_zeros(shape)
    for first, count, start in _real_taps(ax):
        _cells(buf, dim, ax, count, start).add_(g.narrow(dim, first, count))
    return buf


class _SlidingSum(torch.autograd.Function):
    """The window sums along one sliding axis (zero padding) or, ``adjoint=True``, their
    adjoint (:func:`_sliding_sum_transpose`). A linear map: its JVP is the map itself and
    its backward the other direction (K strided adds into one input-sized gradient,
    where autograd through the tap views would allocate and add K of them); each being
    the other's backward, double backward works. vmap rules are generated."""

    generate_vmap_rule = True

    @staticmethod
    def forward(t, dim, ax, adjoint=False):
        return (_sliding_sum_transpose if adjoint else _sliding_sum)(t, dim, ax)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, ctx.dim, ctx.ax, *rest = inputs
        ctx.adjoint = bool(rest and rest[0])

    @staticmethod
    def backward(ctx, g):
        return _SlidingSum.apply(g, ctx.dim, ctx.ax, not ctx.adjoint), None, None, None

    @staticmethod
    def jvp(ctx, t_dot, *_):
        return _SlidingSum.forward(t_dot, ctx.dim, ctx.ax, ctx.adjoint)


def box_max(x: torch.Tensor, plan: Plan) -> torch.Tensor:
    """Max of the real cells of every window (NaN propagates; empty window: -inf).

    An elementwise maximum per tap, then the sign of a zero maximum made the sign of
    the window's *first* zero (:func:`_first_zero_signs`), as the spec's first
    row-major maximizer has it; a maximum instruction may return either zero of a tie.
    """
    y = reduce_axes(
        x, plan, lambda t, dim, a: tap_maximum(taps(t, dim, plan.axes[a], float("-inf")))
    )
    if native.is_traced(x) or int(torch.count_nonzero(y)) < y.numel():  # some y is 0
        y = _first_zero_signs(x, y, plan)
    return y


def _first_zero_signs(x: torch.Tensor, y: torch.Tensor, plan: Plan) -> torch.Tensor:
    """``y`` with every zero signed as the first zero cell of its window.

    Where a window's maximum is 0 its maximizers are its zero cells, and its first
    row-major cell is the one with the smallest flat plane index (a box window's
    row-major tap order is the order of its cells' coordinates, on every axis). So a
    separable maximum of the integer key ``-(2 * flat + signbit)`` over the zero cells
    (the lowest integer elsewhere) names the first zero, its parity that zero's sign.
    """
    plane = math.prod(plan.spatial_in)
    dtype = torch.int32 if 2 * plane < 2**31 else torch.int64
    low = torch.iinfo(dtype).min
    flat = torch.arange(plane, dtype=dtype, device=x.device).reshape(plan.spatial_in)
    key = torch.where(x == 0, -(2 * flat + torch.signbit(x).to(dtype)), low)
    key = reduce_axes(key, plan, lambda t, dim, a: tap_maximum(taps(t, dim, plan.axes[a], low)))
    signed = torch.where(torch.bitwise_and(key, 1) == 1, -0.0, 0.0).to(y.dtype)
    return torch.where(y == 0, signed, y)


class LogSumExp(NamedTuple):
    """A partial log-sum-exp in parts: ``top + log(total) / beta`` with ``top`` the max of
    the cells so far (a constant: no derivative flows through it) and ``total`` the sum of
    ``exp(beta (x - top))`` over them (every derivative flows through it), and ``carrier``,
    0 in value, which passes a NaN cotangent on to every cell of an infinite window
    (0 * NaN = NaN); ``None`` where no cell is infinite or NaN, or no derivative is
    tracked (it would be 0 with zero derivatives)."""

    top: torch.Tensor
    total: torch.Tensor
    carrier: torch.Tensor | None


def _recorded(*ts) -> bool:
    """Whether autograd records ops on ``ts`` (then an op in place may overwrite what a
    backward reads; else the finite path below works in place, for its peak memory)."""
    return torch.is_grad_enabled() and any(getattr(t, "requires_grad", False) for t in ts)


def _scaled(d: torch.Tensor, beta, finite: bool = False, recorded: bool = True) -> torch.Tensor:
    """``exp(beta d)`` for ``d <= 0``: a ``-inf`` difference adds exp(-inf) = 0 whatever
    beta (it never meets beta, so no derivative forms beta * -inf, nor 0 * -inf in the
    where's unselected branch); an underflowed term is 0 with no derivative (its tangent
    beta_dot * d may have overflowed, 0 * inf, which a where's unselected branch does not
    pass on). ``finite``: ``d`` is known finite and no forward-mode derivative is formed
    (reverse mode meets no 0 * inf there: ``exp(beta d)`` alone), and a new tensor, worked
    on in place where nothing is ``recorded``."""
    if finite:  # exp in place: its backward reads its result, the product's needs it not
        return d.mul_(beta).exp_() if not recorded else (beta * d).exp_()
    absent = d == float("-inf")
    e = torch.exp(beta * torch.where(absent, 0.0, d))
    return torch.where(absent, torch.exp(d), torch.where(e == 0, 0.0, e))


def logsumexp_cells(
    views: list[torch.Tensor], beta=1.0, carry: bool = True, finite: bool = False
) -> LogSumExp:
    """The log-sum-exp of the taps of cells, in parts (:class:`LogSumExp`), one tap at a
    time (no K-fold copy): ``beta v``, which may overflow where the result does not, is
    never formed. ``beta`` is a float or a tensor broadcasting over the taps. ``carry``:
    form the carrier (``False`` where it is known to be needless: every cell finite, or
    no derivative tracked). ``finite``: every tap is known finite (no infinite, NaN or
    absent cell) and no forward-mode derivative is formed: the masks are left out."""
    if finite:
        top = tap_maximum([v.detach() for v in views], in_place=True)
        rec = _recorded(views[0], beta)
        terms = (_scaled(v - top, beta, True, rec) for v in views)
        return LogSumExp(top, tap_sum(terms, fresh=not rec), None)
    top = tap_maximum([v.detach() for v in views])
    infinite = top.isinf()
    shift = torch.where(infinite | top.isnan(), 0.0, top)
    total = carrier = None
    for v in views:
        e = _scaled(torch.where(infinite, 0.0, v - shift), beta)
        total = e if total is None else total + e
        if carry:
            zero = torch.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0) * 0.0
            carrier = zero if carrier is None else carrier + zero
    return LogSumExp(top, total, carrier)


def logsumexp_parts(parts: list[LogSumExp], beta=1.0, finite: bool = False) -> LogSumExp:
    """The log-sum-exp of the taps of partial ones (:class:`LogSumExp`): their tops are
    exact cells, so a stage rounds no partial result that ``beta`` would then amplify
    (the derivatives of ``m + log(s) / beta`` formed stage by stage from rounded partial
    results are off by ``beta`` times their rounding error). ``finite``: as
    :func:`logsumexp_cells`."""
    if finite:
        top = tap_maximum([p.top for p in parts], in_place=True)
        rec = _recorded(parts[0].total, beta)
        scaled = ((p.total, _scaled(p.top - top, beta, True, rec)) for p in parts)
        terms = (s * e if rec else e.mul_(s) for s, e in scaled)
        return LogSumExp(top, tap_sum(terms, fresh=not rec), None)
    top = tap_maximum([p.top for p in parts])
    infinite = top.isinf()
    shift = torch.where(infinite | top.isnan(), 0.0, top)
    total = carrier = None
    for p in parts:
        # the carrier (0) in the exponent takes a NaN window's NaN derivative to the cells
        # of a part whose own max is +-inf (their other derivatives are cut at 0)
        top_p = p.top if p.carrier is None else p.top + p.carrier
        term = p.total * _scaled(torch.where(infinite, 0.0, top_p - shift), beta)
        total = term if total is None else total + term
        if p.carrier is not None:
            carrier = p.carrier if carrier is None else carrier + p.carrier
    return LogSumExp(top, total, carrier)


def logsumexp_value(lse: LogSumExp, beta=1.0, finite: bool = False) -> torch.Tensor:
    """``top + log(total) / beta``; a window whose max is ``+-inf`` gives that max with a
    zero derivative, one holding NaN gives NaN with NaN derivatives. ``finite``: as
    :func:`logsumexp_cells` (``total >= 1``: its top's own term is 1)."""
    if finite:
        return lse.top + lse.total.log() / beta
    infinite = lse.top.isinf()
    shift = torch.where(infinite | lse.top.isnan(), 0.0, lse.top)
    # an infinite window's total may be 0 (every part absent): its log's derivative, inf,
    # would meet the where's zero in the unselected branch (0 * inf = NaN)
    total = torch.where(infinite, 1.0, lse.total)
    top = lse.top if lse.carrier is None else lse.top + lse.carrier
    return torch.where(infinite, top, shift + total.log() / beta)


def mask_unread(x: torch.Tensor, plan: Plan) -> torch.Tensor:
    """Zero the cells no window reads (floor-mode tails, gaps of stride > kernel).

    Their values cannot change any output, but a NaN there would otherwise meet a zero
    cotangent inside a partial (inner-axis) window and turn it into NaN (0 * NaN); so
    this matters for derivatives only. One pass, with the per-axis masks combined.
    """
    d = plan.d
    keep = None
    for a, ax in enumerate(plan.axes):
        if isinstance(ax, SlidingAxis) and ax.may_skip:
            axis_keep = read_mask(ax, x.device)
            if not native.is_traced(x) and bool(axis_keep.all()):
                continue
            axis_keep = axis_keep.reshape((ax.length,) + (1,) * (d - 1 - a))
            keep = axis_keep if keep is None else keep & axis_keep
    return x if keep is None else torch.where(keep, x, 0.0)


def reduction_input(x: torch.Tensor, geometry: dict) -> tuple[Plan, torch.Tensor]:
    """The preamble of a sliding-window reduction that transforms cells before summing
    them (Lp's powers, smooth max's exponentials): :func:`ndpool.impl.inputs.sliding_input`,
    then the batched input in the compute dtype, its unread cells masked when derivatives
    are tracked."""
    plan, xb = sliding_input(x, geometry)
    xb = xb.to(compute_dtype(x.dtype))
    if native.tracks_derivatives(xb) and not all_finite(xb):
        xb = mask_unread(xb, plan)  # (a finite unread cell meets 0 cotangents harmlessly)
    return plan, xb


def all_finite(t: torch.Tensor) -> bool:
    """Eager: no cell is +-inf or NaN, from one sum (an inf or NaN cell makes the float sum
    inf or NaN; a sum that overflows only says "maybe"). False under tracing."""
    return not native.is_traced(t) and math.isfinite(float(t.detach().sum()))
