"""Lp pooling: ``(sum_i t_i^p)^(1/p)`` (or ``(mean_i t_i^p)^(1/p)``) over every window.

``sign`` is an explicit convention, since frameworks disagree:

- ``"abs"`` (default; ONNX LpPool, the Lp norm): ``t_i = |x_i|``;
- ``"signed"`` (PyTorch ``lp_pool``): ``t_i = x_i`` with IEEE ``pow``: a negative
  cell with a non-integer p, or a negative sum with a non-integer 1/p, is NaN;
  with p = 1 it is sum pooling.

``norm_type`` p is a positional, differentiable input (a scalar or one value
per channel, p > 0); ``p = inf`` (``"abs"`` only) is ``max_i |x_i|`` with the
max-pool winner rule. Padded cells are absent. Computed stably as
``y = M * (sum (t_i/M)^p)^(1/p)`` with ``M`` the power of two just above
``max |x_i|``, capped at ``2**1023`` (for ``p > 969`` the largest ``|x_i|`` itself); a
window holding an infinite cell is evaluated unscaled, with IEEE arithmetic (``+inf`` for
"abs").

``partial_window`` is the second explicit convention: what a window that is cut
short by the ceil_mode overhang (or by the padding) sums.

- ``"sum"`` (default; ONNX Runtime): the real cells only, ``y = (sum_i t_i^p)^(1/p)``;
- ``"rescaled"`` (PyTorch ``lp_pool``, the ONNX reference evaluator): the Lp pool is an
  average pool of ``t^p`` times the kernel size, ``y = (K * mean t^p)^(1/p)``, where the
  mean of a clipped window divides by its ``n`` cells inside the padded extent (the
  ``count_include_pad=True`` divisor of ``avg_pool``). So ``y = (rho * sum_i t_i^p)^(1/p)``
  with ``rho = K / n``, ``K = prod(kernel_size)``: a full window has ``rho = 1`` and
  agrees with ``"sum"``, a ceil_mode edge window is scaled up (``rho = 2`` for a half
  window). With ``p = inf`` both agree (``rho^(1/p) = 1``).

``reduction`` says whether the powers are summed or averaged:

- ``"sum"`` (default; PyTorch, ONNX): ``y = (rho * sum_i t_i^p)^(1/p)`` as above;
- ``"mean"`` (the quantile-pooling source's LpPool, ``(mean |x|^p)^(1/p)``): the power
  sum over the window's cell count, ``y = (sum_i t_i^p / n)^(1/p)``, with ``n`` the
  real cells under ``partial_window="sum"`` (padded cells are absent) and the cells
  inside the padded extent under ``"rescaled"`` (padded cells count as zeros, the
  ``count_include_pad=True`` mean). A window without real cells is 0 either way.
  So ``rho = 1 / n``; with ``p = inf`` the mean is the max as well.

Other values of ``sign``, ``partial_window`` or ``reduction`` break C14.

Derivatives (``y > 0``, ``s_i = sign(x_i)`` for "abs", 1 for "signed"; ``rho = 1``
for ``partial_window="sum"`` with ``reduction="sum"``)::

    dy/dx_i = rho * s_i * (t_i / y)^(p-1)
    dy/dp   = (y / p) * (sum_i t_i^p log t_i / sum_i t_i^p - log y)

with ``0 * log 0 = 0``. Where the formula is undefined the spec decides, in
this order of precedence (later rules win):

1. a cell with ``x_i = 0``, or a window with ``y = 0``: ``dy/dx_i = 0`` and
   ``dy/dp = 0`` (a subgradient for p >= 1);
2. ``p = 1``: y is linear in t, so ``dy/dx_i = rho * s_i`` exactly (also at zero
   cells and at ``y = 0``: sum pooling has derivative 1 everywhere);
3. a window whose value is infinite (it holds ±inf and no NaN): every
   derivative is 0;
4. a window whose value is NaN: ``dy/dx_i`` is NaN at its non-zero real cells
   and ``dy/dp`` is NaN;
5. ``p = inf``: the derivative of ``max |x_i|``, ``s_i`` at the max-pool winner.

dy/dp is NaN where it is undefined (a negative cell with ``sign="signed"``, however
small: its scaled power may underflow to 0, and ``0 * log`` of a negative cell is NaN); a
zero p tangent then still contributes nothing to the JVP, and a zero output
cotangent nothing to the p cotangent of the VJP.
"""

from __future__ import annotations

import numpy as np

from . import numeric as nm
from .constraints import fail
from .op import InputSpec, Op, Option, one_hot, pick
from .selection import first_maximizer

SIGNS = ("abs", "signed")
PARTIAL_WINDOWS = ("sum", "rescaled")
REDUCTIONS = ("sum", "mean")


def _t(w, call):
    return np.abs(w) if call.options["sign"] == "abs" else w


def _rho(w, call):
    """``[*O]``: the factor of the power sum: with ``reduction="sum"``, ``K / n`` for
    ``partial_window="rescaled"`` (``n`` the window's cells inside the padded extent) and 1
    for ``"sum"``; with ``reduction="mean"``, ``1 / n`` (``n`` the cells inside the padded
    extent for "rescaled", the real cells for "sum"; at least 1)."""
    shape = call.in_extent.shape[:-1]
    rescaled = call.options.get("partial_window", "sum") == "rescaled"
    mean = call.options.get("reduction", "sum") == "mean"
    if not rescaled and not mean:
        return np.full(shape, nm.const(1, w), dtype=w.dtype)
    n = np.maximum((call.in_extent if rescaled else call.real).sum(axis=-1), 1)
    k = 1 if mean else call.in_extent.shape[-1]
    if nm.is_object(w):
        return np.frompyfunc(lambda c: nm.const(1, w) * k / int(c), 1, 1)(n).astype(object)
    return k / n.astype(np.float64)


def _scaled(w, p, call):
    """``(M, r, T)``: the scale, the scaled cells ``t/M`` (0 off the window) and ``sum r^p``.

    ``M`` is the power of two just above the window's ``max |t|`` (``nm.pow2_ceiling``):
    ``t/M`` is exact, so the scaled sum is the unscaled sum rounded the same way (an exact
    zero stays zero, as for ``3 - 1 - 3 + 1``), without its overflow. Past ``LARGE_P``
    (where ``(t/M)^p`` of the largest cell could underflow) ``M`` is the largest ``|t|``
    itself."""
    real = call.real
    top = np.where(real, np.abs(w), nm.zeros_like(w)).max(axis=-1)
    # a power p of (1/2, 1] may be subnormal past LARGE_P: the largest cell itself scales then
    m = np.where(_large(p), top, nm.pow2_ceiling(top))
    safe_m = np.where(m == 0, 1, m)
    with np.errstate(invalid="ignore"):
        r = np.where(real, _t(w, call) / safe_m[..., None], nm.zeros_like(w))
    rp = np.where(real, nm.power(r, p[..., None]), nm.zeros_like(w))
    # a negative t under a non-integer p is NaN however small: t / M may underflow to -0,
    # whose IEEE power is +0, so the rule is applied to t itself
    pk = np.broadcast_to(p[..., None], w.shape)
    negative = real & (_t(w, call) < 0) & (pk != np.floor(pk.astype(np.float64)))
    rp = np.where(negative, nm.const("nan", rp), rp)
    return m, r, rp.sum(axis=-1)


#: past this p a power p of a number in (1/2, 1] can leave float64's normal range (2^-1022,
#: less the 53 bits of a significand): the scale is then the window's largest |t| itself
LARGE_P = 969


def _large(p):
    return np.asarray(p, dtype=np.float64) > LARGE_P if np.asarray(p).dtype != object else False


def _finite_p_value(w, p, call):
    m, _, total = _scaled(w, p, call)
    rho = _rho(w, call)
    y = np.where(m == 0, nm.zeros_like(m), m * nm.power(rho * total, 1 / p))
    infinite = m == np.inf
    if infinite.any():  # t/M is inf/inf there: the infinite cells' powers decide (IEEE)
        t = _t(w, call)
        tp = nm.power(t, p[..., None])
        # a finite cell adds 0 (or NaN where its power is NaN), never an overflowed inf of
        # its own: next to an infinite cell it is negligible in exact arithmetic
        tp = np.where(nm.isfinite(t), np.where(nm.isnan(tp), tp, nm.zeros_like(tp)), tp)
        plain = np.where(call.real, tp, nm.zeros_like(w)).sum(axis=-1)
        y = np.where(infinite, nm.power(rho * plain, 1 / p), y)
    return y


def _inf_select(w, call):
    return first_maximizer(np.abs(w), call.real)


def _split(p):
    inf = np.isinf(p.astype(np.float64)) if p.dtype != object else np.isinf(p.astype(float))
    return inf, np.where(inf, 2, p)


def _value(w, params, call):
    (p,) = params
    inf, pf = _split(p)
    y = _finite_p_value(w, pf, call)
    if inf.any():
        y = np.where(inf, pick(np.abs(w), _inf_select(w, call), 0), y)
    return y


def _partials(w, params, call):
    """``(dy/dw [.., K], dy/dp [..])`` for finite p."""
    (p,) = params
    inf, pf = _split(p)
    m, r, total = _scaled(w, pf, call)
    y = _finite_p_value(w, pf, call)
    pk = pf[..., None]
    rho = _rho(w, call)
    s = np.sign(w) if call.options["sign"] == "abs" else 1
    s = s * rho[..., None]  # the partials of rho * sum t^p carry rho
    # (t_i / y)^(p-1) = (r_i / (rho total)^(1/p))^(p-1) ; zero cells and zero windows give 0
    norm = nm.power(rho * total, 1 / pf)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(
            call.real & (w != 0), r / np.where(norm == 0, 1, norm)[..., None], nm.zeros_like(w)
        )
        dw = np.where(call.real & (w != 0), s * nm.power(ratio, pk - 1), nm.zeros_like(w))
        rp = np.where(call.real, nm.power(r, pk), nm.zeros_like(w))
        rplog = np.where(
            call.real, nm.xlogx_safe(rp, nm.log(np.where(r == 0, 1, r))), nm.zeros_like(w)
        )
        # a negative cell's t^p log t is undefined however small it is: its scaled power
        # may underflow to 0, where 0 * log would hide the NaN
        rplog = np.where(call.real & (_t(w, call) < 0), nm.const("nan", rplog), rplog)
        # y = M norm with the scale M constant in p: dy/dp = M (norm / p) (...), formed in
        # scaled units first, so an overflowing y (finite cells) keeps a finite dy/dp
        dp = m * (
            (norm / pf)
            * (
                rplog.sum(axis=-1) / np.where(total == 0, 1, total)
                - nm.log(rho * np.where(total == 0, 1, total)) / pf
            )
        )
    zero = (m == 0) | (total == 0)
    dw = np.where(zero[..., None], nm.zeros_like(w), dw)
    dp = np.where(zero, nm.zeros_like(y), dp)
    real = np.broadcast_to(call.real, w.shape)
    linear = np.broadcast_to(pf == 1, y.shape)[..., None] & real
    dw = np.where(linear, s * nm.const(1, w), dw)
    # rule 3: a window holding +-inf (no NaN) has zero derivatives; one whose value merely
    # overflows keeps the scaled partials above (finite: the ratios t_i / y are)
    infinite = m == np.inf
    dw = np.where(infinite[..., None], nm.zeros_like(w), dw)
    dp = np.where(infinite, nm.zeros_like(dp), dp)
    undefined = nm.isnan(y)
    nan = np.full(np.shape(y), nm.const("nan", y), dtype=np.asarray(y).dtype)
    dw = np.where(undefined[..., None] & real & (w != 0), nan[..., None], dw)
    dp = np.where(undefined, nan, dp)
    if inf.any():  # max |x|: rho^(1/p) = 1, no rho in its partials
        sel = _inf_select(w, call)
        hot = one_hot(sel, w.shape[-1], pick(np.sign(w), sel, 0))
        dw = np.where(inf[..., None], hot, dw)
        dp = np.where(inf, 0 * dp, dp)
    return dw, dp


def _jvp(w, params, call, w_dot, param_dots):
    dw, dp = _partials(w, params, call)
    (p_dot,) = param_dots
    return (dw * w_dot).sum(axis=-1) + np.where(p_dot == 0, 0 * p_dot, dp * p_dot)


def _vjp(w, params, call, y_bar):
    dw, dp = _partials(w, params, call)
    return dw * y_bar[..., None], np.where(y_bar == 0, 0 * y_bar, dp * y_bar)


def _check(params, options):
    (p,) = params
    pv = np.asarray(p, dtype=np.float64)
    if np.isnan(pv).any() or (pv <= 0).any():
        raise fail("C10", f"norm_type={p.ravel().tolist()} must be > 0 and not NaN")
    if options["sign"] == "signed" and np.isinf(pv).any():
        raise fail("C10", "norm_type=inf is allowed with sign='abs' only")


LP_POOL = Op(
    name="lp_pool",
    empty_window=(
        "0 (the p-th root of an empty sum; with p = inf the max of no |x|, taken as 0; "
        "with reduction='mean' 0 as well), derivatives 0 (dy/dp included)."
    ),
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    input_specs=(
        InputSpec("x", "x"),
        InputSpec("norm_type", "channel", domain="> 0, inf with 'abs'"),
    ),
    options=(
        Option("sign", "abs", SIGNS),
        Option("partial_window", "sum", PARTIAL_WINDOWS, convention=True),
        Option("reduction", "sum", REDUCTIONS),
    ),
    check=_check,
)


@LP_POOL.defines
def lp_pool(
    x,
    norm_type,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    sign: str = "abs",
    partial_window: str = "sum",
    reduction: str = "sum",
):
    """``(sum_i t_i^p)^(1/p)`` over the real cells of every window (see the module doc);
    ``sign`` is ``"abs"`` or ``"signed"``, ``partial_window`` ``"sum"`` or ``"rescaled"``,
    ``reduction`` ``"sum"`` or ``"mean"`` (``(mean_i t_i^p)^(1/p)``).

    >>> import numpy as np
    >>> x = np.array([[[3.0, -4.0, 1.0, 2.0, 2.0]]])
    >>> lp_pool(x, 2.0, kernel_size=2, stride=2, ceil_mode=True)        # |3,-4| |1,2| |2|
    array([[[5.        , 2.23606798, 2.        ]]])
    >>> lp_pool(x, 1.0, kernel_size=2, stride=2, sign="signed")         # sum pooling
    array([[[-1.,  3.]]])
    >>> lp_pool(x, np.inf, kernel_size=2, stride=2)
    array([[[4., 2.]]])
    >>> lp_pool(x, 2.0, kernel_size=2, stride=2, ceil_mode=True, partial_window="rescaled")
    array([[[5.        , 2.23606798, 2.82842712]]])

    The last window holds 1 of its 2 cells: rescaled, it is ``sqrt(2 * 2**2)``.

    >>> lp_pool(x, 2.0, kernel_size=2, stride=2, ceil_mode=True, reduction="mean")
    array([[[3.53553391, 1.58113883, 2.        ]]])

    ``sqrt((9 + 16) / 2)``, ``sqrt((1 + 4) / 2)`` and ``sqrt(4 / 1)``.
    """
    return LP_POOL.forward(
        x,
        norm_type,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        sign=sign,
        partial_window=partial_window,
        reduction=reduction,
    )
