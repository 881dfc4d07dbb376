"""SoftPool (Stergiou, Poppe and Kalliatakis, 2021): the softmax-weighted sum.

Over the real cells of every window (padded cells are absent, as for max)::

    y = sum_i pi_i x_i,        pi_i = exp(x_i) / sum_j exp(x_j)

computed stably with the weights shifted by the window max, so no ``exp``
overflows. ``min x <= y <= max x``; a window with no real cell is NaN with zero
derivatives; NaN and infinities propagate as the arithmetic gives them.

Derivative::

    dy/dx_j = pi_j (1 + x_j - y)
"""

from __future__ import annotations

import numpy as np

from . import numeric as nm
from .op import Op


def soft_sample(w, scores, real, temperature):
    """``(y, dy/dw, dy/dT)`` of ``y = sum_i pi_i w_i`` with ``pi = softmax(scores)`` over
    the real cells, where ``scores = w / T + noise`` (``T`` broadcast to the output
    shape). ``dy/dw_j = pi_j (1 + (w_j - y) / T)``, ``dy/dT = -sum_i pi_i w_i (w_i - y) / T^2``.
    A window with no real cell gives NaN with zero derivatives."""
    real = np.broadcast_to(real, w.shape)
    n = real.sum(axis=-1)
    pi, _ = nm.masked_softmax(scores, real)
    zero = nm.zeros_like(w)
    safe_w = np.where(real, w, zero)
    y = nm.masked_sum(pi * safe_w, real)
    dev = np.where(real, safe_w - y[..., None], zero)
    tk = temperature[..., None]
    dw = np.where(real, pi * (1 + dev / tk), zero)
    dt = -nm.masked_sum(pi * safe_w * dev, real) / (temperature * temperature)
    y = np.where(n > 0, y, nm.const("nan", y))
    return y, dw, np.where(n > 0, dt, nm.zeros_like(dt))


def _partials(w, params, call):
    one = np.broadcast_to(nm.const(1, w), w.shape[:-1]).astype(w.dtype)
    y, dw, _ = soft_sample(w, w, call.real, one)
    return y, dw


def _value(w, params, call):
    return _partials(w, params, call)[0]


def _jvp(w, params, call, w_dot, param_dots):
    return (_partials(w, params, call)[1] * w_dot).sum(axis=-1)


def _vjp(w, params, call, y_bar):
    return (_partials(w, params, call)[1] * y_bar[..., None],)


SOFT_POOL = Op(
    name="soft_pool",
    empty_window="NaN, derivatives 0.",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
)


@SOFT_POOL.defines
def soft_pool(x, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False):
    """``sum_i softmax(x)_i x_i`` over the real cells of every window.

    >>> import numpy as np
    >>> x = np.array([[[0.0, 0.0, 0.0, np.log(3.0), 1000.0, 1001.0]]])
    >>> y = soft_pool(x, kernel_size=2)     # [0 0] -> 0; [0 log 3] -> 3/4 log 3; no overflow
    >>> bool(np.allclose(y, [[[0.0, 0.75 * np.log(3.0), 1001 - 1 / (1 + np.e)]]]))
    True
    """
    return SOFT_POOL.forward(
        x,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
