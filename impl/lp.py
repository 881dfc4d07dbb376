"""Lp pooling: ``(sum_i t_i^p)^(1/p)`` over the real cells of every window.

``t_i = |x_i|`` (``sign="abs"``, default) or ``x_i`` (``sign="signed"``, PyTorch's
convention, IEEE pow). The sum of ``t^p`` is a window sum
(:func:`ndpool.impl.avg_pool.window_sum`), so padded cells and a partial
ceil_mode window's overhang add nothing, as the spec says. ``p = inf`` is max
pooling of ``|x|`` with the spec's winner rule.

Computed in the input precision (float32 for 16-bit inputs) the way the spec
computes it, rescaled by the window's ``M = max |x|``: ``y = M (sum (t/M)^p)^(1/p)``,
so a p-th power that overflows (or underflows) the compute dtype does not make
the window inf (or 0). ``M`` is a separable max, carried per stage of a
separable sum (:func:`_scaled_pow_sum`), never a K-fold window expansion. Where
no ``|x|^p`` of the whole input leaves the normal range (an eager check,
:func:`_in_range`) the unscaled sum is the same number with one rounding less per
power, and a native window sum: it is used there (:func:`_direct_pow_sum`).

The spec's derivative rules, in its order of precedence: a zero cell or a zero
window has derivative 0 (``pow`` is evaluated only where its base is non-zero,
``torch.where`` on both sides, so autograd never sees ``0 * inf``); p = 1 is
linear in t (derivative ``s_i`` everywhere); a window holding +-inf takes its
IEEE value with zero derivatives; a NaN window has NaN derivatives at its
non-zero real cells (:func:`_exceptional`); p = inf selects the winner.
"""

from __future__ import annotations

import math

import torch

from . import native
from .average import window_sum
from .geometry import Plan
from .inputs import channel_input, check_values, unbatch, values
from .max import select_max
from .separable import box_max, reduction_input, windows


def _safe_pow(base: torch.Tensor, exponent) -> torch.Tensor:
    """``base ** exponent`` with 0 where ``base == 0`` and a zero derivative there."""
    if not native.tracks_derivatives(base):
        return base**exponent  # the same value: 0 ** exponent is 0 for the p > 0 here
    nonzero = base != 0
    return torch.where(nonzero, torch.where(nonzero, base, 1.0) ** exponent, 0.0)


class _CellPow(torch.autograd.Function):
    """``base ** p`` for a tensor ``p``, whose p-derivative ``base^p log base`` is NaN at a
    negative base (signed Lp): the spec lets a zero p tangent (JVP) or a zero cotangent
    (VJP) contribute 0 there, not ``0 * NaN``. The same for the base (a negative signed
    sum's root has a NaN derivative): where the spec's derivative is NaN, the NaN comes
    from :func:`_exceptional`'s carrier, which follows the spec's own zero rule."""

    generate_vmap_rule = True

    @staticmethod
    def forward(base, p):
        return base**p

    @staticmethod
    def setup_context(ctx, inputs, output):
        base, p = inputs
        ctx.save_for_backward(base, p, output)
        ctx.save_for_forward(base, p, output)

    @staticmethod
    def backward(ctx, g):
        base, p, out = ctx.saved_tensors
        g_base = torch.where(g == 0, 0.0, g * p * base ** (p - 1))
        g_p = torch.where(g == 0, 0.0, g * out * torch.log(base)).sum_to_size(p.shape)
        return g_base, g_p

    @staticmethod
    def jvp(ctx, base_dot, p_dot):
        base, p, out = ctx.saved_tensors
        y_dot = torch.zeros_like(out)
        if base_dot is not None:
            y_dot = y_dot + torch.where(base_dot == 0, 0.0, base_dot * p * base ** (p - 1))
        if p_dot is not None:
            y_dot = y_dot + torch.where(p_dot == 0, 0.0, p_dot * out * torch.log(base))
        return y_dot


def _cell_pow(base: torch.Tensor, p) -> torch.Tensor:
    """``_safe_pow`` where the base may be negative (signed t, a signed window sum): see
    :class:`_CellPow`."""
    if not isinstance(p, torch.Tensor):
        return _safe_pow(base, p)
    nonzero = base != 0
    return torch.where(nonzero, _CellPow.apply(torch.where(nonzero, base, 1.0), p), 0.0)


def _root(total: torch.Tensor, p, skip) -> torch.Tensor:
    """``total^(1/p)``; ``skip`` (windows the caller replaces) reads 1, so a NaN partial
    there (a negative signed sum) cannot meet their zero cotangent (0 * NaN)."""
    if skip is not None:
        total = torch.where(skip, 1.0, total)
    return _cell_pow(total, 1 / p)  # a negative signed sum: NaN, and so is its p-derivative


def _scaled_pow_sum(t: torch.Tensor, p, plan: Plan, skip=None) -> torch.Tensor:
    """``(sum t^p)^(1/p)`` as the spec computes it, ``M * (sum (t/M)^p)^(1/p)`` with
    ``M`` the power of two above ``max |t|`` per window, so no ``t^p`` overflows or
    underflows on its own.

    Separable, one axis at a time (innermost first), over pairs ``(m, s)`` standing
    for the partial sum ``m^p * s`` (``m`` a detached scale, the max ``|t|`` of the
    partial window): a stage takes ``M = max_j m_j`` over the taps and
    ``S = sum_j s_j * (m_j / M)^p``, tap by tap (no K-fold copy). Every ratio is a power of two in
    [0, 1]. The scales are constants, so the derivatives are those of ``(sum t^p)^(1/p)``
    (the spec's formulas); zero cells and zero windows get 0 through ``_safe_pow``.
    Infinite cells are read as 0 here (their windows are replaced by the caller);
    NaN cells make their windows NaN.
    """
    t = torch.where(torch.isinf(t), 0.0, t)
    m = _pow2_ceiling(t.detach().abs())
    s = _cell_pow(t / torch.where(m > 0, m, 1.0), p)  # in (1/2, 1] (signed: times (-1)^p) or 0
    for a in reversed(range(plan.d)):
        ax = plan.axes[a]
        dim = t.ndim - plan.d + a
        mw = windows(m, dim, ax, 0.0)
        sw = windows(s, dim, ax, 0.0)
        m = mw.amax(-1)  # NaN propagates
        safe = torch.where(m > 0, m, 1.0)
        total = None
        for j in range(ax.taps):
            term = _times_scale(sw[..., j], _safe_pow(mw[..., j] / safe, p))
            total = term if total is None else total + term
        s = total
    return m * _root(s, p, skip)


def _pow2_ceiling(a: torch.Tensor) -> torch.Tensor:
    """A power of two in ``(a, 2a]`` per element (capped at the dtype's largest; 0, inf and
    NaN kept), as the spec's scale: dividing by it is exact, so a scaled sum rounds as the
    unscaled one would (a signed sum that cancels exactly stays 0)."""
    _, e = torch.frexp(a)
    top = int(math.log2(torch.finfo(a.dtype).max))  # 2**top is finite
    up = torch.ldexp(torch.ones_like(a), e.clamp(max=top))
    return torch.where((a == 0) | ~torch.isfinite(a), a, up)


def _times_scale(s: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """``s * f`` for a partial sum ``s`` and a scale factor ``f = (m_j / M)^p``. Where
    ``s`` is NaN (a negative signed cell under a fractional p) the product's cotangent
    toward ``f``, and so toward p, would be ``0 * NaN`` even for a zero cotangent; NaN
    windows get their derivatives from :func:`_exceptional`'s carrier (the spec's rule
    4, zero for a zero cotangent), so here ``s`` reads 0 on that side.

    Where ``f`` underflowed to 0 the term is the constant 0, as the spec's underflowed
    power ``(t/M)^p`` is (its derivatives are 0: ``0 * log t = 0``): a finite ``s``
    whose tangent is NaN (the p-derivative of a negative cell) or inf (``1/m`` of a
    subnormal cell's scale) must not meet it in forward mode as ``NaN * 0``."""
    if not f.requires_grad:
        term = s * f
    else:
        f0 = f.detach()
        term = s * f0 + torch.nan_to_num(s.detach(), nan=0.0) * (f - f0)
    if not (native.tracks_derivatives(s) or native.tracks_derivatives(f)):
        return term
    return torch.where((f.detach() == 0) & torch.isfinite(s.detach()), 0.0, term)


def _ieee_pow(t: torch.Tensor, p) -> torch.Tensor:
    """``t ** p`` with IEEE 754 ``pow`` at ``t = -inf`` as the spec has it (+inf for
    p > 0 unless p is an odd integer, then -inf; +-0 for p < 0): PyTorch computes a
    Python-float exponent 0.5 as a square root, NaN there."""
    e = torch.as_tensor(p, dtype=t.dtype, device=t.device)
    odd = (e == torch.round(e)) & (torch.remainder(e, 2) == 1)
    inf = torch.full_like(e, float("inf"))
    at_neg_inf = torch.where(
        e > 0,
        torch.where(odd, -inf, inf),
        torch.where(e < 0, torch.where(odd, -0.0, 0.0), torch.where(e == 0, 1.0, e)),
    )
    return torch.where(t == float("-inf"), at_neg_inf, t**e)


def _direct_pow_sum(t: torch.Tensor, p, plan: Plan, ceil_mode: bool, skip, plain: bool):
    """``(sum t^p)^(1/p)`` unscaled (a native window sum of ``t^p`` where one applies): as
    the scaled form where no ``t^p`` leaves the normal range (:func:`_in_range`), and a
    little more accurate (one rounding per power). Infinite cells read as 0, as there."""
    if plain and isinstance(p, float) and p >= 1:
        # finite |x|: |x|^p has derivative 0 at x = 0 for a constant p >= 1 (abs'(0) = 0)
        tp = t**p
    else:
        tp = _cell_pow(torch.where(torch.isinf(t), 0.0, t), p)
    return _root(window_sum(tp, plan, ceil_mode), p, skip)


def _magnitudes(t: torch.Tensor, nonnegative: bool) -> tuple[float, float] | None:
    """Eager: ``(lo, hi)``, the smallest non-zero and the largest finite ``|t|`` (0, 0 if
    there is none), and whether every cell is finite; ``None`` under tracing. One
    ``aminmax`` (it propagates NaN, and an inf is its own max), more passes only where a
    cell is not finite or zero."""
    if native.is_traced(t):
        return None
    if t.numel() == 0:
        return (0.0, 0.0), True
    with torch.no_grad():
        a = t.detach() if nonnegative else t.detach().abs()
        lo, hi = (float(v) for v in torch.aminmax(a))
        finite = math.isfinite(hi)
        if not finite:
            a = torch.where(torch.isfinite(a), a, 0.0)
            lo, hi = (float(v) for v in torch.aminmax(a))
        if lo == 0 and hi > 0:
            lo = _smallest_nonzero(a)
    return (lo, hi), finite


def _smallest_nonzero(x: torch.Tensor) -> float:
    """The smallest non-zero ``|x|`` (inf if every cell is 0; a NaN cell may count), from
    the bits: ``(|x| bits) - 1`` read unsigned sends 0 to the top, and XOR with the sign
    bit makes that order the signed one, so one integer ``amin`` skips the zeros.
    Integer passes stay fast where comparisons against 0 (a bool mask per cell) do not."""
    ints = {torch.float32: torch.int32, torch.float64: torch.int64}[x.dtype]
    info = torch.iinfo(ints)
    with torch.no_grad():
        key = (x.detach().view(ints) & info.max).sub_(1).bitwise_xor_(info.min)
        low = int(key.amin()) if key.numel() else info.max
    if low == info.max:
        return float("inf")
    bits = torch.tensor((low ^ info.min) + 1, dtype=ints)
    return float(bits.view(x.dtype))


def _in_range(extremes: tuple[float, float], p, plan: Plan, dtype: torch.dtype) -> bool:
    """Whether every ``|t|^p`` of the finite non-zero cells (magnitudes in ``extremes``),
    and every window sum of them, stays in the normal range of ``dtype``."""
    lo, hi = extremes
    if hi == 0:
        return True  # no finite non-zero cell
    if isinstance(p, torch.Tensor) and native.is_traced(p):
        return False
    info = torch.finfo(dtype)
    top, bottom = math.log2(info.max) - 1, math.log2(info.tiny) + 1
    hi, lo = math.log2(hi), math.log2(lo)
    extra = math.log2(plan.window_size)
    powers = [p] if isinstance(p, float) else [float(p.detach().min()), float(p.detach().max())]
    return all(hi * q + extra < top and lo * q > bottom for q in powers)


def _infinite_windows(t: torch.Tensor, plan: Plan):
    """The windows holding +-inf and no NaN, or None where there is none (always a mask
    under tracing)."""
    traced = native.is_traced(t)
    with torch.no_grad():
        big = box_max(t.detach().abs(), plan)  # NaN propagates, so a NaN window is not inf
        infinite = big == float("inf")
    return infinite if traced or bool(infinite.any()) else None


def _square_sum(x: torch.Tensor, plan: Plan, ceil_mode: bool) -> torch.Tensor | None:
    """p = 2 straight from ``x``: ``sqrt(window_sum(x^2))``. ``x^2`` is ``|x|^2`` bit for
    bit (either sign convention) and its derivative ``2x`` is the spec's
    ``2 |x| sign(x)``, 0 at a zero cell, so this is :func:`_direct_pow_sum`'s result
    without the ``|x|`` pass and its backward. Used where :func:`_in_range` holds, on
    magnitudes read off the squares (one ``aminmax``; an inf or NaN cell fails it), else
    None (and under tracing): the general path decides."""
    if native.is_traced(x) or x.numel() == 0:
        return None
    sq = x.square()
    with torch.no_grad():
        lo, hi = (math.sqrt(float(v)) for v in torch.aminmax(sq.detach()))
        if lo == 0 and hi > 0:  # zero cells, or squares that underflowed: look at x
            lo = _smallest_nonzero(x)
    if not _in_range((lo, hi), 2.0, plan, x.dtype):
        return None
    return _root(window_sum(sq, plan, ceil_mode), 2.0, None)


def _finite(xb: torch.Tensor, p, plan: Plan, ceil_mode: bool, sign: str, active=None):
    """Finite p, with the spec's derivative rules in its order of precedence: the power
    form (zero cells / zero windows: 0), p = 1 linear, then :func:`_exceptional`. For
    p = 2 (a float) :func:`_square_sum` first."""
    if isinstance(p, float) and p == 2:
        y = _square_sum(xb, plan, ceil_mode)
        if y is not None:
            return y
    t = xb.abs() if sign == "abs" else xb
    scan = _magnitudes(t, sign == "abs")  # None under tracing
    finite = scan is not None and scan[1]
    skip = None if finite else _infinite_windows(t, plan)
    if isinstance(p, float) and p == 1:
        y = window_sum(t, plan, ceil_mode)  # linear in t: dy/dx_i = s_i everywhere
    else:
        direct = scan is not None and _in_range(scan[0], p, plan, t.dtype)

        def power_form(u):
            if direct:
                return _direct_pow_sum(u, p, plan, ceil_mode, skip, finite and sign == "abs")
            return _scaled_pow_sum(u, p, plan, skip)

        y = power_form(t)
        if isinstance(p, torch.Tensor):
            one = p == 1
            if native.is_traced(p) or bool(one.any()):
                # p = 1 entries: the x-derivative of the plain sum (also at zero cells and
                # y = 0), the p-derivative of the power form (its x-dependence detached)
                y_p = power_form(t.detach())
                linear = window_sum(t, plan, ceil_mode) + (y_p - y_p.detach())
                y = torch.where(one, linear, y)
    negative = None
    if sign == "signed" and isinstance(p, torch.Tensor):  # (p = inf is "abs" only)
        negative = _negative_powers(t, p, plan)
    return _exceptional(t, p, y, plan, ceil_mode, skip, active, negative)


def _negative_powers(t: torch.Tensor, p: torch.Tensor, plan: Plan) -> torch.Tensor:
    """Windows with a negative real cell whose scaled power ``(t/M)^p`` is non-zero: the
    spec's ``t^p log t`` is NaN there (its ``0 * log t = 0`` rule covers an underflowed
    power). Decided with the spec's float64 numbers; the largest negative cell decides,
    as the power is monotone."""
    with torch.no_grad():
        t = t.detach()
        neg = box_max(torch.where(t < 0, -t, 0.0), plan).double()
        m = _pow2_ceiling(box_max(t.abs(), plan).double())
        return (neg > 0) & ((neg / m) ** p.detach().double() != 0)


def _exceptional(
    t, p, y, plan: Plan, ceil_mode: bool, infinite, active, negative=None
) -> torch.Tensor:
    """Rules 3 and 4 on top of ``y``: a window holding +-inf and no NaN (``infinite``, None
    if there is none) takes its IEEE value, with zero derivatives where that is +-inf;
    a NaN window gets NaN derivatives at its non-zero real cells and for p (its zero
    cells keep rule 1 or 2: 0, or 1 for p = 1).

    A finite non-zero window holding a ``negative`` power (:func:`_negative_powers`) has
    a NaN p-derivative too, for each output on its own: a carrier 0 in value adds it per
    output, where the cell powers' NaN would meet the sum of their windows' cotangents
    (``[-3, 3]`` at a shared cell: 0, where the spec has NaN)."""
    value = y.detach()
    if infinite is not None:
        # constants: no_grad stops backward only, a forward-mode tangent of p would
        # still reach them (d/dp of inf^p is NaN, where the spec's rule 3 has 0)
        p_const = p.detach() if isinstance(p, torch.Tensor) else p
        with torch.no_grad():
            tp = _ieee_pow(t.detach(), p_const)
            # infinite cells decide; a finite cell adds 0, or NaN (negative base, IEEE pow),
            # never an overflowed inf of its own
            contrib = torch.where(
                torch.isinf(t), tp, torch.where(torch.isnan(tp), float("nan"), 0.0)
            )
            plain = _ieee_pow(window_sum(contrib, plan, ceil_mode), 1 / p_const)
        value = torch.where(infinite, plain, value)
        y = torch.where(infinite & torch.isinf(plain), plain, y)
    nan = torch.isnan(value)
    if active is not None:
        nan = nan & active
    if native.is_traced(t) or bool(nan.any()):
        q = torch.where(nan, float("nan"), 0.0).to(y.dtype)
        carrier = window_sum(torch.where(t != 0, t, 0.0), plan, ceil_mode) * q
        if isinstance(p, torch.Tensor):  # a NaN p-derivative, yet 0 for a zero (co)tangent
            carrier = carrier + _CellPow.apply(torch.full_like(q, -1.0), p)
        y = torch.where(nan, y + carrier, y)
    if negative is not None:
        undefined = negative & torch.isfinite(value) & (value != 0)
        if native.is_traced(t) or native.is_traced(p) or bool(undefined.any()):
            # (-1)^p is +-1 at the integer p a finite window with a negative cell has
            c = _CellPow.apply(torch.full_like(value, -1.0), p)
            y = torch.where(undefined, y + (c - c.detach()), y)
    return y


def _infinite(xb: torch.Tensor, plan: Plan) -> torch.Tensor:
    """``max |x|`` with the winner rule; a window without real cells (dilation, all
    padding) is 0 here, the spec's empty norm, not max pooling's -inf."""
    a = xb.abs()
    y, _ = select_max(a, plan, False, False, None)
    if any(ax.has_empty for ax in plan.axes):
        y = torch.where(y == float("-inf"), 0.0, y)
    return y


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
):
    """``(sum_i t_i^p)^(1/p)`` over the real cells of every window; ``norm_type`` is p.

    >>> import torch
    >>> x = torch.tensor([[[3.0, -4.0, 1.0, 2.0, 2.0]]])
    >>> lp_pool(x, 2.0, kernel_size=2, stride=2, ceil_mode=True)
    tensor([[[5.0000, 2.2361, 2.0000]]])
    """
    geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                    ceil_mode=ceil_mode)  # fmt: skip
    plan, xb = reduction_input(x, geometry)
    check_values("lp_pool", [values(norm_type, 2.0)], {"sign": sign})
    p = channel_input(norm_type, xb, plan, "norm_type", xb.dtype)
    if isinstance(p, float):
        y = _infinite(xb, plan) if math.isinf(p) else _finite(xb, p, plan, ceil_mode, sign)
    else:
        inf = torch.isinf(p)
        if native.is_traced(p) or not bool(inf.any()):
            y = _finite(xb, p, plan, ceil_mode, sign)
        else:  # a per-channel p with some infinite entries
            finite = _finite(xb, torch.where(inf, 2.0, p), plan, ceil_mode, sign, ~inf)
            y = torch.where(inf, _infinite(xb, plan), finite)
    return unbatch(y, plan).to(x.dtype)
