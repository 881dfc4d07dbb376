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

import numpy as np

from . import numeric as nm
from . import pooler_math as pm
from .constraints import fail
from .window_op import InputSpec, PoolerOp


def _parts(w, params, call):
    (p,) = params
    real = np.broadcast_to(call.real, w.shape)
    n = real.sum(axis=-1)
    eps = pm.const(call.options["eps"], w)
    zero = pm.zeros_like(w)
    t = np.where(real, np.maximum(w, eps) if w.dtype != object else _obj_max(w, eps), zero)
    top = pm.masked_max(t, real)
    ok = (n > 0) & (top > 0)
    scale = np.where(ok, top, pm.const(1, top))
    r = np.where(real, t / scale[..., None], zero)
    pk = np.broadcast_to(p, n.shape)[..., None]
    rp = np.where(real, nm.power(r, pk), zero)
    total = rp.sum(axis=-1)
    nsafe = np.maximum(n, 1)
    rho = nm.power(total / nsafe, 1 / np.broadcast_to(p, n.shape))  # y / T
    with np.errstate(invalid="ignore", over="ignore"):
        y = np.where(ok, top * rho, np.where(n > 0, pm.zeros_like(top), pm.const("nan", top)))
    y = np.where((real & pm.isnan(w)).any(axis=-1), pm.const("nan", y), y)  # NaN propagates
    return real, n, t, r, rp, total, rho, y, ok, pk


def _obj_max(w, eps):
    return np.frompyfunc(lambda v: v if v >= eps or v != v else eps, 1, 1)(w).astype(object)


def _value(w, params, call):
    return _parts(w, params, call)[7]


def _partials(w, params, call):
    real, n, _, r, rp, total, rho, y, ok, pk = _parts(w, params, call)
    zero = pm.zeros_like(w)
    eps = pm.const(call.options["eps"], w)
    nsafe = np.maximum(n, 1)[..., None]
    live = real & (r > 0) & ok[..., None]
    rho_safe = np.where(ok, rho, pm.const(1, rho))[..., None]
    ratio = np.where(live, r / rho_safe, pm.const(1, w))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        dt = np.where(live, nm.power(ratio, pk - 1) / nsafe, zero)
    dx = np.where(w >= eps, dt, zero)
    tsafe = np.where(ok, total, pm.const(1, total))[..., None]
    weights = np.where(live, rp / tsafe, zero)
    logs = np.where(live, pm.log(np.where(live, ratio, pm.const(1, w))), zero)
    p = pk[..., 0]
    dp = np.where(ok, y / p * (weights * logs).sum(axis=-1), pm.zeros_like(y))
    nan_win = pm.isnan(y) & (n > 0)
    nan = pm.const("nan", y)
    dx = np.where(nan_win[..., None] & real, nan, dx)
    dp = np.where(nan_win, nan, dp)
    return dx, dp


def _jvp(w, params, call, w_dot, param_dots):
    dx, dp = _partials(w, params, call)
    return (dx * w_dot).sum(axis=-1) + dp * param_dots[0]


def _vjp(w, params, call, y_bar):
    dx, dp = _partials(w, params, call)
    return dx * y_bar[..., None], dp * y_bar


def _check(params, options):
    (p,) = params
    pv = np.asarray([float(v) for v in np.ravel(p)])
    if not np.isfinite(pv).all() or (pv <= 0).any():
        raise fail("C20", f"p={pv.tolist()} must be finite and > 0")
    eps = options["eps"]
    if isinstance(eps, bool) or not np.isfinite(float(eps)) or float(eps) < 0:
        raise fail("C20", f"eps={eps!r} must be finite and >= 0")


GEM_POOL = PoolerOp(
    name="gem_pool",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    options={"eps": 1e-6},
    check=_check,
    specs=(InputSpec("x", "x"), InputSpec("p", "channel", domain="finite, > 0")),
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
