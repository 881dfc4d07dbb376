"""Mixed, gated and tree pooling (Lee, Gallagher and Tu, 2016): learned blends.

All three use the real cells of a window only (padded cells are absent, as for
max); ``n`` is the number of real cells, ``M`` the max (first-maximizer rule,
NaN propagates), ``A = (1/n) sum_i x_i`` the mean over real cells (the
``count_include_pad=False`` divisor), ``sigma`` the logistic function.

- ``mixed_pool(x, a)``: ``y = sigma(a) M + (1 - sigma(a)) A``, one mixing logit
  ``a`` per layer (scalar) or per channel (``[C]``).
- ``gated_pool(x, omega, bias=None)``: ``y = g M + (1 - g) A`` with the gate
  ``g = sigma(sum_i omega_i x_i + b)`` (sum over real cells); the gating mask
  ``omega`` covers the window in row-major order: ``[K]`` (per layer) or
  ``[C, K]`` (per channel), ``K = prod(kernel_size)``; the optional ``bias`` ``b``
  is a scalar (per layer) or ``[C]`` (per channel), ``None`` meaning 0. (The
  source's gate is a grouped convolution with a bias: one mask and one bias per
  channel.) With ``omega = 0`` the gate is ``sigma(b)``: mixed pooling with ``a = b``.
- ``tree_pool(x, v1, v2, omega)`` (2-level tree): ``y = g v1.x + (1 - g) v2.x``
  with learned leaf pooling filters ``v1, v2`` and the gate
  ``g = sigma(omega.x)``, all window-shaped (``[K]`` or ``[C, K]``), dot products
  over real cells.

Derivatives (``h`` = one-hot of the selected max cell, ``r`` = 1 on real cells)::

    mixed:  dy/dx_i = s h_i + (1 - s) r_i / n          dy/da = s (1 - s) (M - A),  s = sigma(a)
    gated:  dy/dx_i = g h_i + (1 - g) r_i / n + g (1 - g)(M - A) omega_i r_i
            dy/domega_i = g (1 - g) (M - A) x_i r_i      dy/db = g (1 - g) (M - A)
    tree:   dy/dx_i = r_i (g v1_i + (1 - g) v2_i + g (1 - g)(v1.x - v2.x) omega_i)
            dy/dv1_i = g x_i r_i    dy/dv2_i = (1 - g) x_i r_i
            dy/domega_i = g (1 - g)(v1.x - v2.x) x_i r_i

A window with no real cell is NaN for mixed and gated pooling (max and mean
are undefined) with zero derivatives; for tree pooling every dot product is 0,
so it is ``0``.
"""

from __future__ import annotations

import numpy as np

from . import numeric as nm
from .op import InputSpec, Op, one_hot, pick
from .selection import first_maximizer


def max_and_mean(w, call):
    """``(M, A, hot, inv_n_real, n)`` over the real cells (NaN for an empty window)."""
    real = np.broadcast_to(call.real, w.shape)
    n = real.sum(axis=-1)
    sel = first_maximizer(w, call.real)
    nan = nm.const("nan", w)
    big_m = pick(w, sel, nan)
    nsafe = np.maximum(n, 1)
    mean = np.where(n > 0, nm.masked_sum(w, real) / nsafe, nan)
    one = nm.const(1, w)
    hot = one_hot(sel, w.shape[-1], np.broadcast_to(one, sel.shape).astype(w.dtype))
    inv = np.where(real, (one / nsafe)[..., None], nm.zeros_like(w))
    return big_m, mean, hot, inv, n


def _blend_partials(w, g, call):
    """Partials of ``g M + (1 - g) A`` for a given gate ``g``: ``(y, dy/dx, dy/dg)``."""
    big_m, mean, hot, inv, n = max_and_mean(w, call)
    y = g * big_m + (1 - g) * mean
    dx = g[..., None] * hot + (1 - g)[..., None] * inv
    with np.errstate(invalid="ignore"):
        dg = np.where(n > 0, big_m - mean, nm.zeros_like(mean))
    return y, dx, dg


# -- mixed ------------------------------------------------------------------------------
def _mixed_gate(params, shape):
    (a,) = params
    return np.broadcast_to(nm.sigmoid(a), shape)


def _mixed_value(w, params, call):
    g = _mixed_gate(params, w.shape[:-1])
    return _blend_partials(w, g, call)[0]


def _mixed_partials(w, params, call):
    g = _mixed_gate(params, w.shape[:-1])
    _, dx, dg = _blend_partials(w, g, call)
    return dx, g * (1 - g) * dg


def _mixed_jvp(w, params, call, w_dot, param_dots):
    dx, da = _mixed_partials(w, params, call)
    return (dx * w_dot).sum(axis=-1) + da * param_dots[0]


def _mixed_vjp(w, params, call, y_bar):
    dx, da = _mixed_partials(w, params, call)
    return dx * y_bar[..., None], da * y_bar


MIXED_POOL = Op(
    name="mixed_pool",
    empty_window="NaN (the max and the mean of no cell are undefined), derivatives 0.",
    value=_mixed_value,
    jvp_rule=_mixed_jvp,
    vjp_rule=_mixed_vjp,
    input_specs=(InputSpec("x", "x"), InputSpec("a", "channel", domain="real (a mixing logit)")),
)


# -- gated ------------------------------------------------------------------------------
def _dot(w, v, call):
    real = np.broadcast_to(call.real, w.shape)
    return nm.masked_sum(w * v, real)


def _times_cells(c, other, w, call):
    """``c * other * x`` per window cell, rounded once, 0 outside the input."""
    real = np.broadcast_to(call.real, w.shape)
    return np.where(real, nm.product(c, other, w), nm.zeros_like(w))


def _gate(w, params, call):
    """``sigma(omega . x + b)`` (``b = 0`` without a bias)."""
    omega, bias = params
    z = _dot(w, omega, call)
    return nm.sigmoid(z if bias is None else z + bias)


def _gated_partials(w, params, call):
    """``(y, dy/dx, dy/db)``; ``dy/domega`` is ``dy/db * x`` (formed with the tangent or
    cotangent by :func:`_times_cells`, rounded once)."""
    real = np.broadcast_to(call.real, w.shape)
    g = _gate(w, params, call)
    y, dx, dg = _blend_partials(w, g, call)
    dbias = g * (1 - g) * dg
    dx = dx + np.where(real, dbias[..., None] * params[0], nm.zeros_like(w))
    return y, dx, dbias


def _gated_value(w, params, call):
    return _blend_partials(w, _gate(w, params, call), call)[0]


def _gated_jvp(w, params, call, w_dot, param_dots):
    _, dx, dbias = _gated_partials(w, params, call)
    k = dbias[..., None]
    y_dot = (dx * w_dot).sum(axis=-1) + _times_cells(k, param_dots[0], w, call).sum(axis=-1)
    return y_dot if param_dots[1] is None else y_dot + dbias * param_dots[1]


def _gated_vjp(w, params, call, y_bar):
    _, dx, dbias = _gated_partials(w, params, call)
    b_bar = None if params[1] is None else dbias * y_bar
    yb = y_bar[..., None]
    return dx * yb, _times_cells(dbias[..., None], yb, w, call), b_bar


GATED_POOL = Op(
    name="gated_pool",
    empty_window="NaN (the max and the mean of no cell are undefined), derivatives 0.",
    value=_gated_value,
    jvp_rule=_gated_jvp,
    vjp_rule=_gated_vjp,
    input_specs=(
        InputSpec("x", "x"),
        InputSpec("omega", "window", domain="real"),
        InputSpec("bias", "channel", domain="real (the gate's bias; None: 0)", optional=True),
    ),
)


# -- tree -------------------------------------------------------------------------------
def _tree_partials(w, params, call):
    """``(y, dy/dx, (c1, c2, c_omega))``: the partials for the filters are ``c * x`` (``c``
    per window), kept apart so that the derivatives form ``c * t * x`` rounded once
    (:func:`~ndpool.spec.numeric.product`: with a subnormal cell, ``(c * x) * t`` loses
    it)."""
    v1, v2, omega = params
    real = np.broadcast_to(call.real, w.shape)
    g = nm.sigmoid(_dot(w, omega, call))
    a, b = _dot(w, v1, call), _dot(w, v2, call)
    y = g * a + (1 - g) * b
    gk = g[..., None]
    k = (g * (1 - g) * (a - b))[..., None]
    dx = np.where(real, gk * v1 + (1 - gk) * v2 + k * omega, nm.zeros_like(w))
    return y, dx, (gk, 1 - gk, k)


def _tree_value(w, params, call):
    return _tree_partials(w, params, call)[0]


def _tree_jvp(w, params, call, w_dot, param_dots):
    _, dx, coefficients = _tree_partials(w, params, call)
    total = (dx * w_dot).sum(axis=-1)
    for c, t in zip(coefficients, param_dots):
        total = total + _times_cells(c, t, w, call).sum(axis=-1)
    return total


def _tree_vjp(w, params, call, y_bar):
    _, dx, coefficients = _tree_partials(w, params, call)
    yb = y_bar[..., None]
    return (dx * yb,) + tuple(_times_cells(c, yb, w, call) for c in coefficients)


TREE_POOL = Op(
    name="tree_pool",
    empty_window=(
        "0 (every dot product of a filter with no cell is 0), derivatives 0 (the "
        "filters' included)."
    ),
    value=_tree_value,
    jvp_rule=_tree_jvp,
    vjp_rule=_tree_vjp,
    input_specs=(
        InputSpec("x", "x"),
        InputSpec("v1", "window", domain="real"),
        InputSpec("v2", "window", domain="real"),
        InputSpec("omega", "window", domain="real"),
    ),
)


# -- public functions -------------------------------------------------------------------
@MIXED_POOL.defines
def mixed_pool(x, a, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``sigma(a) max + (1 - sigma(a)) mean`` over the real cells of every window.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 3.0, 2.0, 6.0]]])
    >>> mixed_pool(x, 0.0, kernel_size=2)                 # a = 0: (max + mean) / 2
    array([[[2.5, 5. ]]])
    >>> mixed_pool(x, np.log(3.0), kernel_size=2)         # sigma(log 3) = 3/4
    array([[[2.75, 5.5 ]]])
    """
    return MIXED_POOL.forward(
        x,
        a,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )


@GATED_POOL.defines
def gated_pool(
    x, omega, bias=None, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
):
    """``g max + (1 - g) mean`` with ``g = sigma(omega . x + bias)`` over every window's real
    cells.

    ``omega`` is ``[K]`` (one gate mask for the layer) or ``[C, K]`` (one per channel);
    ``bias`` is ``None`` (no bias), a scalar or ``[C]``.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 3.0, 2.0, 6.0]]])
    >>> gated_pool(x, np.zeros(2), kernel_size=2)         # omega = 0: g = 1/2
    array([[[2.5, 5. ]]])
    >>> y = gated_pool(x, np.array([1.0, -1.0]), kernel_size=2)
    >>> g = 1 / (1 + np.exp(-np.array([1.0 - 3.0, 2.0 - 6.0])))
    >>> bool(np.allclose(y[0, 0], g * np.array([3.0, 6.0]) + (1 - g) * np.array([2.0, 4.0])))
    True
    >>> gated_pool(x, np.zeros(2), np.log(3.0), kernel_size=2)   # sigma(log 3) = 3/4
    array([[[2.75, 5.5 ]]])
    """
    return GATED_POOL.forward(
        x,
        omega,
        bias,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )


@TREE_POOL.defines
def tree_pool(
    x, v1, v2, omega, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
):
    """2-level tree pooling ``g v1.x + (1 - g) v2.x`` with ``g = sigma(omega.x)``.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 3.0, 2.0, 6.0]]])
    >>> v1, v2 = np.array([1.0, 0.0]), np.array([0.5, 0.5])    # "first cell" and "mean"
    >>> tree_pool(x, v1, v2, np.zeros(2), kernel_size=2)       # g = 1/2
    array([[[1.5, 3. ]]])
    """
    return TREE_POOL.forward(
        x,
        v1,
        v2,
        omega,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
