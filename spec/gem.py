"""GeM pooling (Radenovic, Tolias and Chum, 2018): the learnable-p generalized mean.

Over the ``n`` real cells of every window (padded cells are absent, as for max)::

    y = ((1/n) sum_i t_i^p)^(1/p),      t_i = max(x_i, eps)

``p`` is a positional, differentiable input (a scalar or one per channel,
finite and > 0): ``p = 1`` is average pooling of ``t``, ``p -> inf`` tends to
max pooling. ``eps`` (keyword, default ``1e-6`` as in the reference GeM)
clamps the input from below so ``t > 0``; ``eps=0`` pools ``max(x, 0)``. It
is a new op rather than an option of ``lp_pool`` because the mean (not the sum)
and the clamp are part of its definition. Computed stably as
``y = T (1/n sum_i (t_i/T)^p)^(1/p)`` with ``T = max_i t_i``.

Derivatives (``w_i = t_i^p / sum_j t_j^p``; ``[x_i >= eps]`` the clamp's
derivative, 1 at the boundary as for ``torch.clamp``)::

    dy/dx_i = [x_i >= eps] (1/n) (t_i / y)^(p - 1)
    dy/dp   = (y / p) sum_i w_i log(t_i / y)

with ``0 log 0 = 0``. Where ``t_i = 0`` (only with ``eps=0``) or ``y = 0`` the
``x`` derivative is taken as 0. A window with no real cell is NaN with zero
derivatives; NaN propagates.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from . import numeric as nm
from .constraints import fail, is_flag
from .op import InputSpec, Op, Option


class GemParts(NamedTuple):
    """The pieces of one evaluation: the clamped cells ``t``, the scaled cells ``r = t / T``
    and their powers ``rp``, their sum ``total``, ``rho = y / T``, the value ``y``, where
    it is a positive mean (``ok``), and ``p`` per window (``pk``, ``[..., 1]``)."""

    real: np.ndarray
    n: np.ndarray
    t: np.ndarray
    r: np.ndarray
    rp: np.ndarray
    total: np.ndarray
    rho: np.ndarray
    y: np.ndarray
    ok: np.ndarray
    pk: np.ndarray


def parts(w, params, call) -> GemParts:
    """The evaluation of every window, as :class:`GemParts`."""
    (p,) = params
    real = np.broadcast_to(call.real, w.shape)
    n = real.sum(axis=-1)
    eps = nm.const(call.options["eps"], w)
    zero = nm.zeros_like(w)
    t = np.where(real, np.maximum(w, eps) if w.dtype != object else _obj_max(w, eps), zero)
    top = nm.masked_max(t, real)
    ok = (n > 0) & (top > 0)
    scale = np.where(ok, top, nm.const(1, top))
    r = np.where(real, t / scale[..., None], zero)
    pk = np.broadcast_to(p, n.shape)[..., None]
    rp = np.where(real, nm.power(r, pk), zero)
    total = rp.sum(axis=-1)
    nsafe = np.maximum(n, 1)
    rho = nm.power(total / nsafe, 1 / np.broadcast_to(p, n.shape))  # y / T
    with np.errstate(invalid="ignore", over="ignore"):
        y = np.where(ok, top * rho, np.where(n > 0, nm.zeros_like(top), nm.const("nan", top)))
    y = np.where((real & nm.isnan(w)).any(axis=-1), nm.const("nan", y), y)  # NaN propagates
    return GemParts(real, n, t, r, rp, total, rho, y, ok, pk)


def _obj_max(w, eps):
    return np.frompyfunc(lambda v: v if v >= eps or v != v else eps, 1, 1)(w).astype(object)


def _value(w, params, call):
    return parts(w, params, call).y


def partials(w, params, call):
    """``(dy/dx [..., K], dy/dp [...])`` (see the module doc)."""
    real, n, _, r, rp, total, rho, y, ok, pk = parts(w, params, call)
    zero = nm.zeros_like(w)
    eps = nm.const(call.options["eps"], w)
    nsafe = np.maximum(n, 1)[..., None]
    live = real & (r > 0) & ok[..., None]
    rho_safe = np.where(ok, rho, nm.const(1, rho))[..., None]
    ratio = np.where(live, r / rho_safe, nm.const(1, w))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        dt = np.where(live, nm.power(ratio, pk - 1) / nsafe, zero)
    dx = np.where(w >= eps, dt, zero)
    tsafe = np.where(ok, total, nm.const(1, total))[..., None]
    weights = np.where(live, rp / tsafe, zero)
    logs = np.where(live, nm.log(np.where(live, ratio, nm.const(1, w))), zero)
    p = pk[..., 0]
    dp = np.where(ok, y / p * (weights * logs).sum(axis=-1), nm.zeros_like(y))
    nan_win = nm.isnan(y) & (n > 0)
    nan = nm.const("nan", y)
    dx = np.where(nan_win[..., None] & real, nan, dx)
    dp = np.where(nan_win, nan, dp)
    return dx, dp


def _jvp(w, params, call, w_dot, param_dots):
    dx, dp = partials(w, params, call)
    return (dx * w_dot).sum(axis=-1) + dp * param_dots[0]


def _vjp(w, params, call, y_bar):
    dx, dp = partials(w, params, call)
    return dx * y_bar[..., None], dp * y_bar


def _check(params, options):
    (p,) = params
    pv = np.asarray([float(v) for v in np.ravel(p)])
    if not np.isfinite(pv).all() or (pv <= 0).any():
        raise fail("C20", f"p={pv.tolist()} must be finite and > 0")
    eps = options["eps"]
    if not isinstance(eps, numbers.Real) or is_flag(eps) or not np.isfinite(eps) or eps < 0:
        raise fail("C20", f"eps={eps!r} must be finite and >= 0")


GEM_POOL = Op(
    name="gem_pool",
    empty_window="NaN (a mean over no cell), derivatives 0.",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    options=(Option("eps", 1e-6),),
    check=_check,
    input_specs=(InputSpec("x", "x"), InputSpec("p", "channel", domain="finite, > 0")),
)


@GEM_POOL.defines
def gem_pool(
    x,
    p,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    eps: float = 1e-6,
):
    """``(mean_i max(x_i, eps)^p)^(1/p)`` over the real cells of every window.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 3.0, 2.0, 2.0, -5.0, 4.0]]])
    >>> gem_pool(x, 1.0, kernel_size=2, eps=0.0)       # p = 1: mean of max(x, 0)
    array([[[2., 2., 2.]]])
    >>> gem_pool(x, 2.0, kernel_size=2, eps=0.0)       # root mean square
    array([[[2.23606798, 2.        , 2.82842712]]])
    """
    return GEM_POOL.forward(
        x,
        p,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        eps=eps,
    )
