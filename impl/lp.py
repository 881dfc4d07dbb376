"""Lp pooling: ``(sum_i t_i^p)^(1/p)`` over the real cells of every window.

``t_i = |x_i|`` (``sign="abs"``, default) or ``x_i`` (``sign="signed"``, PyTorch's
convention, IEEE pow). ``reduction="mean"`` divides the power sum by the window's real
cells ``n`` before the root, ``(sum_i t_i^p / n)^(1/p)``: a per-output factor applied
wherever the power sum is formed (plain, scaled or IEEE), so no form overflows where
the mean does not. The sum of ``t^p`` is a window sum
(:func:`ndpool.impl.average.window_sum`), so padded cells and a partial ceil_mode
window's overhang add nothing, as the spec says. ``p = inf`` is max pooling of ``|x|``
with the spec's winner rule.

One definition, the spec's: ``y = M (sum_i (t_i/M)^p)^(1/p)`` with ``M`` the power of two
at or above the window's largest ``|t|``, in the input precision (float32 for 16-bit
inputs). Where no power of the window leaves the normal range (its largest ``|t|``
decides: :func:`_limits`) that is the plain window sum of ``t^p`` (the scale cancels
exactly), which is computed for every window at once; the windows out of that range are
computed from their own cells, scaled (:func:`_scaled_windows`): every window is right
over the whole range of its dtype, and the common case pays for one range check.

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

from ndpool.spec.lp import LARGE_P

from . import native
from .average import window_sum
from .geometry import Plan, per_output
from .inputs import channel_input, check_values, unbatch
from .max import select_max
from .partials import ExplicitPartials, derivative_transforms
from .separable import all_finite, box_max, reduction_input
from .triton import routed
from .windows import plane_index, pow2_ceiling


def _safe_pow(base: torch.Tensor, exponent) -> torch.Tensor:
    """``base ** exponent`` with 0 where ``base == 0`` and a zero derivative there; the
    derivative formed from the power itself (:class:`_CellPow`), except while
    torch.compile traces (it cannot trace a custom forward-mode rule)."""
    if not native.tracks_derivatives(base):
        return base**exponent  # the same value: 0 ** exponent is 0 for the p > 0 here
    nonzero = base != 0
    safe = torch.where(nonzero, base, 1.0)
    if torch.compiler.is_compiling():
        return torch.where(nonzero, safe**exponent, 0.0)
    power = _CellPow.apply(safe, torch.tensor(exponent, dtype=base.dtype, device=base.device))
    return torch.where(nonzero, power, 0.0)


def _power_slope(base: torch.Tensor, p: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``p base^(p-1)`` for ``out = base^p`` (``base`` non-zero): ``p out / base`` where the
    power is a normal number, as ``base ** (p - 1)`` would round ``p - 1`` (a root's
    ``1/p - 1``) and carry that error ``|log base|`` times into the slope; the power
    itself where ``out`` underflowed (its ratio to ``base`` is lost, the slope is not)."""
    normal = out.abs() >= torch.finfo(out.dtype).tiny
    return p * torch.where(normal, out / base, base ** (p - 1))


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
        g_base = torch.where(g == 0, 0.0, g * _power_slope(base, p, out))
        # an underflowed power has p-derivative 0 (the spec's 0 * log t = 0), also where
        # log t is NaN (a negative cell)
        g_p = torch.where((g == 0) | (out == 0), 0.0, g * out * torch.log(base))
        return g_base, g_p.sum_to_size(p.shape)

    @staticmethod
    def jvp(ctx, base_dot, p_dot):
        base, p, out = ctx.saved_tensors
        y_dot = torch.zeros_like(out)
        if base_dot is not None:
            y_dot = y_dot + torch.where(base_dot == 0, 0.0, base_dot * _power_slope(base, p, out))
        if p_dot is not None:
            zero = (p_dot == 0) | (out == 0)
            y_dot = y_dot + torch.where(zero, 0.0, p_dot * out * torch.log(base))
        return y_dot


class _DerivativeOnly(torch.autograd.Function):
    """0 in value, ``t``'s derivatives (reverse and forward): ``t - t.detach()`` without
    its ``inf - inf`` where ``t`` overflowed (an Lp value past the dtype's range can
    have a finite p-derivative)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(t):
        return torch.zeros_like(t)

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, g):
        return g

    @staticmethod
    def jvp(ctx, t_dot):
        return t_dot


#: a second derivative through the scaled form (:class:`_Rescaled`) is refused with this
SECOND_DERIVATIVE = (
    "lp_pool has no second derivative at windows whose powers leave the dtype's normal "
    "range (subnormal or huge cells): differentiate it once"
)


class _Rescaled(torch.autograd.Function):
    """``v / m`` (``up`` False) or ``v * m`` (``up`` True) for a constant power of two
    ``m`` (one per window), with the derivatives of ``v`` passed through unscaled, and
    ``p * 1`` (``m`` given as ``scale``) with its tangent and cotangent times ``m``.

    Chained as ``r = cells / m -> g(r, p) -> m g`` (the scaled form), every tangent and
    cotangent inside is then carried in the units of the window's value, ``m`` times the
    true ones: exact at first order, where the true intermediate tangent of ``cells / m``
    (``1 / m`` times the cells' tangent) overflows for a subnormal ``m`` and the
    cotangent ``m g'`` rounds to a few subnormal units. A second derivative through it
    would be off by a factor of ``m``: eagerly (``create_graph``) it is refused here;
    under nested torch.func transforms, where every window's scaled form is computed and
    the in-range ones are discarded (their second derivatives are right), by
    :func:`_refuse_second_derivative` where a window is out of range."""

    generate_vmap_rule = True

    @staticmethod
    def forward(v, m, mode):
        return {"down": v / m, "up": v * m, "scale": v * 1.0}[mode]

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.mode = inputs[2]
        ctx.save_for_backward(inputs[1])
        ctx.save_for_forward(inputs[1])

    @staticmethod
    def backward(ctx, g):
        (m,) = ctx.saved_tensors
        g = g * m if ctx.mode == "scale" else g
        wrapped = torch._C._functorch.is_functorch_wrapped_tensor(g)
        if torch.is_grad_enabled() and not wrapped:  # create_graph: not to be differentiated
            g = torch._C._functions.DelayedError(SECOND_DERIVATIVE, 1)(g)
        return g, None, None

    @staticmethod
    def jvp(ctx, v_dot, m_dot, mode_dot):
        (m,) = ctx.saved_tensors
        return v_dot * m if ctx.mode == "scale" else v_dot


def _rescaled(v: torch.Tensor, m: torch.Tensor, mode: str) -> torch.Tensor:
    """:class:`_Rescaled`, or plain arithmetic while torch.compile traces (Dynamo cannot
    trace a Function with a custom forward-mode rule): compiled, a derivative through a
    window of subnormal scale rounds to a few units of that scale."""
    if torch.compiler.is_compiling():
        return {"down": v / m, "up": v * m, "scale": v}[mode]
    return _Rescaled.apply(v, m, mode)


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


def _infinite_windows(t: torch.Tensor, plan: Plan):
    """The windows holding +-inf and no NaN, or None where there is none (always a mask
    under tracing)."""
    traced = native.is_traced(t)
    with torch.no_grad():
        big = box_max(t.detach().abs(), plan)  # NaN propagates, so a NaN window is not inf
        infinite = big == float("inf")
    return infinite if traced or bool(infinite.any()) else None


def _limits(p, plan: Plan, dtype: torch.dtype):
    """``(small, big)``: a window whose largest ``|t|`` lies in ``[small, big]`` has every
    power, every partial sum of its ``K`` powers and every p-derivative term
    ``t^p log t`` in the normal range of ``dtype`` (``K big^p (1 + log max) <= max / 2``),
    and an underflowed power of it is negligible against the sum (``small^p >= 2 K
    tiny``, ``tiny`` the smallest normal: the loss is below ``u / 2`` of the sum): its
    plain power sum is the spec's value, and ``small`` keeps ``y`` normal. Floats, or
    per-channel tensors for a tensor p, whose p-derivative's ``y log(y) / p^2`` must stay
    in range as well."""
    info = torch.finfo(dtype)
    k = plan.window_size
    low_log2 = math.log2(2 * k * info.tiny)
    high_log2 = math.log2(info.max) - math.log2(2 * k * (1 + math.log(info.max)))
    # and the window's value y >= max |t| is a normal number (p < 1 would allow subnormal
    # cells whose y, ratios t / y and y log y lose their significand)
    normal_log2 = math.log2(2 * info.tiny)
    if isinstance(p, float):
        low, high = max(low_log2 / p, normal_log2), high_log2 / p
        return 2.0**low, (2.0**high if high < 1024 else math.inf)
    pd = p.detach().double()
    small = torch.exp2(torch.clamp(low_log2 / pd, min=normal_log2))
    # a tensor p has a p-derivative, whose root term y log(y) / p^2 must stay in range
    # too: y <= K^(1/p) big, so big <= max p^2 / (2 (1 + log max) K^(1/p))
    root_log2 = math.log2(info.max / (2 * (1 + math.log(info.max)))) + 2 * torch.log2(pd)
    big = torch.exp2(torch.minimum(high_log2 / pd, root_log2 - math.log2(k) / pd))
    return small.to(dtype), big.clamp(max=info.max).to(dtype)


def _weighted(total: torch.Tensor, factor) -> torch.Tensor:
    """The power sum times the per-output factor (``None``: 1, the sum reduction)."""
    return total if factor is None else total * factor


def _mean_factor(plan: Plan, reduction: str, dtype, device):
    """``1 / n`` per output (``n`` the real cells, at least 1) for ``reduction="mean"``."""
    if reduction == "sum":
        return None
    n = per_output([a.real_count for a in plan.axes], dtype, device)
    return 1 / n.clamp(min=1)


def _plain_powers(t: torch.Tensor, p, plan: Plan, ceil_mode: bool, skip, factor=None):
    """``(sum t^p)^(1/p)`` from the plain window sum of the powers: the value wherever a
    window's powers stay in range (:func:`_limits`); ``skip`` (windows the caller
    replaces) reads 1 under the root. Infinite cells read as 0."""
    if isinstance(p, float) and p == 1:  # linear in t: dy/dx_i = s_i everywhere
        return _weighted(window_sum(t, plan, ceil_mode), factor)
    tp = _cell_pow(torch.where(torch.isinf(t), 0.0, t), p)
    return _root(_weighted(window_sum(tp, plan, ceil_mode), factor), p, skip)


def _scaled_windows(
    t: torch.Tensor, p, plan: Plan, top: torch.Tensor, where: torch.Tensor, factor=None
):
    """``M (sum (t/M)^p)^(1/p)`` for the windows at ``where`` (``[F, 2 + d]`` output
    coordinates), from their own cells, in float64 (the spec's scale and arithmetic):
    ``M`` the power of two above the window's largest ``|t|`` (past ``LARGE_P`` that
    ``|t|`` itself), a constant (the value does not depend on it), so no power overflows
    or underflows on its own."""
    n, c = where[:, 0], where[:, 1]
    out = plan.spatial_out
    flat_out = torch.zeros_like(n)
    for a in range(plan.d):
        flat_out = flat_out * out[a] + where[:, 2 + a]
    index = plane_index(plan, t.device).reshape(-1, plan.window_size)[flat_out]  # [F, K]
    plane = t.reshape(t.shape[0] * t.shape[1], math.prod(t.shape[2:]))
    cells = plane[(n * t.shape[1] + c)[:, None], index.clamp(min=0)]
    cells = torch.where(index >= 0, cells, 0.0).double()
    largest = top[tuple(where.t())].double()
    pw = p if isinstance(p, float) else p.expand(top.shape)[tuple(where.t())].double()
    m = torch.where(torch.as_tensor(pw) > LARGE_P, largest, pow2_ceiling(largest))
    # an all-zero window, or one with no real cell (its largest reads -inf; both only ever
    # asked for under tracing, then discarded) reads 0 / 1: no 0 / 0 or 0 * inf whose NaN
    # derivative would reach the cells or p through the unselected branch
    m = torch.where(largest > 0, m, 1.0)[:, None]
    cells = torch.where(torch.isinf(cells), 0.0, cells)
    f = None if factor is None else factor[tuple(where[:, 2:].t())].double()
    if _first_order_transform():
        params = () if isinstance(pw, float) else (pw,)
        consts = (m,) if f is None else (m, f)
        compute = _ScaledWindow(pw if isinstance(pw, float) else None)
        y = ExplicitPartials.apply(compute, "lp_pool", len(consts), cells, *params, *consts)
        return y[0].to(t.dtype)
    # nested torch.func transforms, torch.compile: derivatives in the units of the
    # window's value (:class:`_Rescaled`)
    r = _rescaled(cells, m, "down")
    if isinstance(p, float) and p == 1:
        return _rescaled(_weighted(r.sum(-1), f), m[:, 0], "up").to(t.dtype)
    if not isinstance(pw, float):
        pw = _rescaled(pw, m[:, 0], "scale")
    total = _cell_pow(r, pw if isinstance(pw, float) else pw[:, None]).sum(-1)
    return _rescaled(_root(_weighted(total, f), pw, None), m[:, 0], "up").to(t.dtype)


def _first_order_transform() -> bool:
    """Whether the scaled windows apply their explicit partials (:class:`_ScaledWindow`):
    eagerly and under one ``torch.func`` derivative transform (``vmap`` layers aside:
    ``jacrev``, ``jacfwd``). Under nested ones (``hessian``) the fake-unit chain of
    :class:`_Rescaled` instead, whose second derivatives the in-range windows need
    (the traced path forms every window's scaled value), and under torch.compile plain
    arithmetic (:func:`_rescaled`)."""
    return not torch.compiler.is_compiling() and derivative_transforms() <= 1


class _ScaledWindow:
    """The value and the spec's partials of ``y = M (f sum (t_i/M)^p)^(1/p)`` for windows
    ``w`` (``[F, K]`` float64 cells ``t``, 0 off the window; ``M`` ``[F, 1]``, ``f`` the
    mean factor ``[F]`` or absent, ``p`` a float or ``[F]``), for
    :class:`ExplicitPartials`. The partials are scale-free, as the spec forms them::

        dy/dt_i = f (r_i / norm)^(p-1)          (f for p = 1, at every cell)
        dy/dp   = M (norm / p) (sum r^p log r / sum r^p - log(f sum r^p) / p)

    with ``r = t / M`` and ``norm = (f sum r^p)^(1/p)``: neither the slope of a cell whose
    own power underflows (large p) nor a p-derivative of a window near the top of the
    range (``M`` times a p tangent) passes through an overflowed or underflowed
    intermediate. A zero cell or window has partials 0. A p-partial the spec has as NaN
    (a negative cell, a NaN window) reads 0 here: :func:`_exceptional`'s carriers add that
    NaN with the spec's zero (co)tangent rule, which a partial applied as a product
    cannot follow."""

    def __init__(self, p: float | None):
        self.p = p

    def __call__(self, w: torch.Tensor, *tensors: torch.Tensor):
        """``tensors``: ``p`` (where it is a tensor), then ``M`` and ``f`` (if any)."""
        p, m, *f = tensors if self.p is None else (self.p, *tensors)
        pk = p if self.p is not None else p[:, None]
        r = w / m
        nonzero = w != 0
        rp = torch.where(nonzero, r**pk, 0.0)
        total = rp.sum(-1)
        mean = total if not f else total * f[0]
        norm = torch.where(total != 0, mean ** (1 / p), 0.0)  # a negative signed sum: NaN
        y = m[:, 0] * norm
        zero = (total == 0)[:, None]
        ratio = r / torch.where(norm == 0, 1.0, norm)[:, None]
        dw = torch.where(nonzero & ~zero, ratio ** (pk - 1), 0.0)
        dw = torch.where(torch.as_tensor(pk == 1), torch.ones_like(dw), dw)
        if f:
            dw = dw * f[0][:, None]
        if self.p is not None:
            return y, dw
        safe = torch.where(total == 0, 1.0, total)
        safe_mean = safe if not f else safe * f[0]
        logs = torch.log(torch.where(r == 0, 1.0, r))
        rplog = torch.where(rp == 0, 0.0, rp * logs).sum(-1)
        dp = m[:, 0] * ((norm / p) * (rplog / safe - torch.log(safe_mean) / p))
        dp = torch.where(torch.isnan(dp) | (total == 0), 0.0, dp)
        return y, dw, dp


def _power_sum(t: torch.Tensor, p, plan: Plan, ceil_mode: bool, skip, factor=None):
    """``(sum_i t_i^p)^(1/p)`` over every window as the spec defines it (see the module
    doc): the plain power sum where the window's powers stay in range, the scaled form
    from the window's own cells elsewhere. Infinite cells read as 0 (their windows are
    replaced by the caller, ``skip``)."""
    small, big = _limits(p, plan, t.dtype)
    traced = native.is_traced(t) or (isinstance(p, torch.Tensor) and native.is_traced(p))
    if not traced:
        with torch.no_grad():
            a = torch.where(torch.isfinite(t), t.detach().abs(), 0.0)
            hi = float(a.amax()) if a.numel() else 0.0
            lo = _smallest_nonzero(a) if hi > 0 else math.inf
        if hi <= _float_min(big) and lo >= _float_max(small):
            return _plain_powers(t, p, plan, ceil_mode, skip, factor)  # all in range
    with torch.no_grad():
        a = torch.where(torch.isfinite(t), t.detach().abs(), 0.0)
        top = box_max(a, plan)
        out = (top > 0) & ((top > big) | (top < small))
        if skip is not None:
            out = out & ~skip
    # a cell whose power overflows lies only in windows that are replaced: it reads 0
    replaced = out if skip is None else out | skip
    y = _plain_powers(torch.where(a > big, 0.0, t), p, plan, ceil_mode, replaced, factor)
    if traced:  # no data-dependent selection: every window's scaled form, then chosen
        _refuse_second_derivative(out)
        every = torch.meshgrid(
            *[torch.arange(n, device=t.device) for n in top.shape], indexing="ij"
        )
        where = torch.stack(every, -1).reshape(-1, top.ndim)
        scaled = _scaled_windows(t, p, plan, top, where, factor)
        return torch.where(out, scaled.reshape(top.shape), y)
    where = out.nonzero()
    if where.numel():
        y = y.index_put(tuple(where.t()), _scaled_windows(t, p, plan, top, where, factor))
    return y


def _refuse_second_derivative(out: torch.Tensor) -> None:
    """Under nested derivative transforms (``hessian``, ``jvp(grad(...))``) raise
    :data:`SECOND_DERIVATIVE` if a window takes the scaled form (``out``): its second
    derivative through :class:`_Rescaled` would be off by its scale. Under an outer
    ``vmap`` that batches the input the mask cannot be read (data-dependent), and the
    second derivatives of such windows stay wrong (docs/reference/lp.md says so)."""
    if derivative_transforms() < 2:
        return
    try:
        needed = bool(out.any())
    except RuntimeError:  # batched by an outer vmap
        return
    if needed:
        raise RuntimeError(SECOND_DERIVATIVE)


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


def _float_min(v) -> float:
    return v if isinstance(v, float) else float(v.min())


def _float_max(v) -> float:
    return v if isinstance(v, float) else float(v.max())


def _square_sum(x: torch.Tensor, plan: Plan, ceil_mode: bool, factor=None):
    """p = 2 straight from ``x``: ``sqrt(window_sum(x^2))``. ``x^2`` is ``|x|^2`` bit for
    bit (either sign convention) and its derivative ``2x`` is the spec's
    ``2 |x| sign(x)``, 0 at a zero cell, so this is the plain power sum without the ``|x|``
    pass and its backward. Used where every magnitude lies within :func:`_limits` (read
    off the squares with one ``aminmax``; an inf or NaN cell fails it), else None (and
    under tracing): the general path decides."""
    if native.is_traced(x) or x.numel() == 0:
        return None
    sq = x.square()
    with torch.no_grad():
        lo, hi = (math.sqrt(float(v)) for v in torch.aminmax(sq.detach()))
        if lo == 0 and hi > 0:  # zero cells, or squares that underflowed: look at x
            lo = _smallest_nonzero(x)
    small, big = _limits(2.0, plan, x.dtype)
    if not (hi <= big and lo >= small):
        return None
    return _root(_weighted(window_sum(sq, plan, ceil_mode), factor), 2.0, None)


def _finite(xb: torch.Tensor, p, plan: Plan, ceil_mode: bool, sign: str, active=None, factor=None):
    """Finite p, with the spec's derivative rules in its order of precedence: the power
    form (zero cells / zero windows: 0), p = 1 linear, then :func:`_exceptional`. For
    p = 2 (a float) :func:`_square_sum` first."""
    if isinstance(p, float) and p == 2:
        y = _square_sum(xb, plan, ceil_mode, factor)
        if y is not None:
            return y
    t = xb.abs() if sign == "abs" else xb
    skip = None if all_finite(t) else _infinite_windows(t, plan)
    y = _power_sum(t, p, plan, ceil_mode, skip, factor)
    if isinstance(p, torch.Tensor):
        one = p == 1
        if native.is_traced(p) or bool(one.any()):
            # p = 1 entries: the value and p-derivative of the power form (its
            # x-dependence detached; scaled where the plain sum would overflow), the
            # x-derivative of the plain sum (exact: also at zero cells, y = 0, overflow)
            y_p = _power_sum(t.detach(), p, plan, ceil_mode, skip, factor)
            plain = _weighted(window_sum(t, plan, ceil_mode), factor)
            y = torch.where(one, y_p + _DerivativeOnly.apply(plain), y)
    negative = None
    if sign == "signed" and isinstance(p, torch.Tensor):  # (p = inf is "abs" only)
        negative = _negative_cells(t, plan)
    return _exceptional(t, p, y, plan, ceil_mode, skip, active, negative, factor)


def _negative_cells(t: torch.Tensor, plan: Plan) -> torch.Tensor:
    """Windows with a negative real cell: the spec's ``t^p log t`` is NaN there however
    small the cell (its scaled power may underflow to 0)."""
    with torch.no_grad():
        return box_max(torch.where(t.detach() < 0, 1.0, 0.0), plan) > 0


def _exceptional(
    t, p, y, plan: Plan, ceil_mode: bool, infinite, active, negative=None, factor=None
) -> torch.Tensor:
    """Rules 3 and 4 on top of ``y``: a window holding +-inf and no NaN (``infinite``, None
    if there is none) takes its IEEE value, with zero derivatives where that is +-inf;
    a NaN window gets NaN derivatives at its non-zero real cells and for p (its zero
    cells keep rule 1 or 2: 0, or 1 for p = 1).

    A finite non-zero window holding a ``negative`` cell (:func:`_negative_cells`) has
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
            plain = _ieee_pow(_weighted(window_sum(contrib, plan, ceil_mode), factor), 1 / p_const)
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
        nonzero = value != 0
        traced = native.is_traced(t) or native.is_traced(p)
        if traced or bool((negative & ~nonzero).any()):
            # a value that rounded to 0 in the dtype (cancelling or subnormal cells) need
            # not be the spec's float64 zero of rule 1: ask the float64 power sum
            with torch.no_grad():
                p64 = p.detach().double() if isinstance(p, torch.Tensor) else p
                f64 = None if factor is None else factor.double()
                y64 = _power_sum(t.detach().double(), p64, plan, ceil_mode, infinite, f64)
            nonzero = nonzero | (y64 != 0)
        undefined = negative & torch.isfinite(value) & nonzero
        if traced or bool(undefined.any()):
            # (-1)^p is +-1 at the integer p a finite window with a negative cell has
            c = _CellPow.apply(torch.full_like(value, -1.0), p)
            y = torch.where(undefined, y + _DerivativeOnly.apply(c), y)
    return y


def _infinite(xb: torch.Tensor, plan: Plan) -> torch.Tensor:
    """``max |x|`` with the winner rule; a window without real cells (dilation, all
    padding) is 0 here, the spec's empty norm, not max pooling's -inf."""
    a = xb.abs()
    y, _ = select_max(a, plan, False, False, None)
    if any(ax.has_empty for ax in plan.axes):
        y = torch.where(y == float("-inf"), 0.0, y)
    return y


@routed
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
    """``(sum_i t_i^p)^(1/p)`` (``reduction="sum"``) or ``(sum_i t_i^p / n)^(1/p)``
    (``"mean"``, ``n`` real cells) over the real cells of every window; ``norm_type`` is p.

    >>> import torch
    >>> x = torch.tensor([[[3.0, -4.0, 1.0, 2.0, 2.0]]])
    >>> lp_pool(x, 2.0, kernel_size=2, stride=2, ceil_mode=True)
    tensor([[[5.0000, 2.2361, 2.0000]]])
    >>> lp_pool(x, 2.0, kernel_size=2, stride=2, ceil_mode=True, reduction="mean")
    tensor([[[3.5355, 1.5811, 2.0000]]])
    """
    geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                    ceil_mode=ceil_mode)  # fmt: skip
    plan, xb = reduction_input(x, geometry)
    check_values("lp_pool", {"norm_type": norm_type}, {"sign": sign, "reduction": reduction})
    p = channel_input(norm_type, xb, plan, "norm_type", xb.dtype)
    f = _mean_factor(plan, reduction, xb.dtype, xb.device)
    if isinstance(p, float):
        y = _infinite(xb, plan) if math.isinf(p) else _finite(xb, p, plan, ceil_mode, sign, None, f)
    else:
        inf = torch.isinf(p)
        if native.is_traced(p) or not bool(inf.any()):
            y = _finite(xb, p, plan, ceil_mode, sign, None, f)
        else:  # a per-channel p with some infinite entries
            finite = _finite(xb, torch.where(inf, 2.0, p), plan, ceil_mode, sign, ~inf, f)
            y = torch.where(inf, _infinite(xb, plan), finite)
    return unbatch(y, plan).to(x.dtype)
