"""Average pooling: the sum of a window's real cells divided by a divisor.

Padded cells are *zero* (they add nothing to the sum); only the divisor decides
whether they count:

- ``divisor_override=D`` (a non-zero int): divide by ``D``;
- ``count_include_pad=True`` (default): the number of window cells inside the
  padded extent ``[-pad_begin, L + pad_end)`` on every axis -- PyTorch's divisor:
  a ceil_mode window that overhangs the padding does not count the overhang;
- ``count_include_pad=False``: the number of real cells. A window with no real cell
  (wholly in the padding, or between dilated taps) then divides 0 by 0 and is NaN.

Adaptive average pooling divides by the bin size. A window whose cells' sum would
overflow float64 before the division is summed scaled by a power of two (exactly), so
the mean of ``[1e308, 1e308]`` is ``1e308``, not ``inf``.

Derivatives: ``y = sum_i a_i x_i`` with ``a_i = 1/divisor`` on real cells, so
``y_dot = sum_i a_i x_dot_i`` and ``x_bar_i += a_i y_bar``.

A window with no real cell has no terms; what its derivative is, where frameworks
disagree, is the option ``empty_window_derivative`` (a string; C14 for other values):

- ``"zero"`` (default, PyTorch): no terms, so its JVP is 0;
- ``"nan"`` (JAX, which differentiates ``sum / count`` literally: ``0 / 0``): its JVP is
  NaN, like its value when the divisor is 0.

Either way the VJP sends nothing back from such a window (it has no cell to send to),
so the VJP is the same under both values, and the two agree wherever the JVP is finite.
The option only matters where the window's value is NaN (``count_include_pad=False``
without ``divisor_override``); a non-zero divisor makes an empty window's value 0 and
its derivative 0 under both.
"""

from __future__ import annotations

import math

import numpy as np

from . import numeric as nm
from .constraints import fail
from .op import ADAPTIVE, Op, Option


def _divisor(call) -> np.ndarray:
    override = call.options.get("divisor_override")
    if override is not None:
        return np.full(call.real.shape[:-1], float(override))
    counted = call.in_extent if call.options.get("count_include_pad") else call.real
    return counted.sum(axis=-1).astype(np.float64)


def _weights(w, call) -> np.ndarray:
    """``a_i``: 1/divisor on real cells, 0 elsewhere (and 0 for empty windows)."""
    div = _divisor(call)
    one = nm.const(1, w)
    inv = np.where(div != 0, one / np.where(div != 0, div, 1).astype(w.dtype), 0 * one)
    return np.where(call.real, inv[..., None], 0 * one).astype(w.dtype)


def _value(w, params, call):
    div = _divisor(call)
    cells = np.where(call.real, w, nm.zeros_like(w))
    scale = _sum_scale(cells)
    with np.errstate(invalid="ignore", divide="ignore"):  # inf - inf and 0/0 are NaN
        total = (cells * scale[..., None]).sum(axis=-1)
        div = div * scale  # exact: a power of two times an integer
        return np.where(div != 0, total / np.where(div != 0, div, 1).astype(w.dtype), np.nan)


def _sum_scale(cells) -> np.ndarray:
    """``[*O]``: 1, or the power of two ``2^-k`` (``2^k >= K``) for the windows whose sum of
    ``K`` cells could overflow float64 (the sum is then taken of the exactly scaled cells,
    and divided by the scaled divisor: the mean is never lost to an intermediate inf)."""
    if nm.is_object(cells):
        return np.ones(cells.shape[:-1])
    k = cells.shape[-1]
    with np.errstate(invalid="ignore"):
        top = np.abs(cells).max(axis=-1, initial=0.0)
    near = np.isfinite(top) & (top * k > np.finfo(np.float64).max / 2)
    return np.where(near, 2.0 ** -math.ceil(math.log2(max(k, 1))), 1.0)


def _jvp(w, params, call, w_dot, param_dots):
    y_dot = (_weights(w, call) * w_dot).sum(axis=-1)
    if call.options.get("empty_window_derivative", "zero") == "nan":
        nan = np.full(y_dot.shape, nm.const("nan", y_dot), dtype=y_dot.dtype)
        y_dot = np.where(_divisor(call) == 0, nan, y_dot)
    return y_dot


def _vjp(w, params, call, y_bar):
    return (_weights(w, call) * y_bar[..., None],)


EMPTY_WINDOW_DERIVATIVES = ("zero", "nan")


def _check(params, options):
    d = options.get("divisor_override")
    if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d == 0):
        raise fail("C13", f"divisor_override={d!r} must be a non-zero integer")


AVG_POOL = Op(
    name="avg_pool",
    empty_window=(
        "The sum is 0. count_include_pad=True (the default): divided by the window's "
        "cells inside the padded extent (at least one: a window starts there), so 0 "
        "with derivative 0; count_include_pad=False: 0 / 0 = NaN, with JVP 0 "
        "(``empty_window_derivative='zero'``, the default) or NaN (``'nan'``); "
        "divisor_override D: 0 / D = 0. The VJP sends nothing back (no real cell)."
    ),
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    options=(
        Option("count_include_pad", True, flag=True),
        Option("divisor_override", None),
        Option("empty_window_derivative", "zero", EMPTY_WINDOW_DERIVATIVES, convention=True),
    ),
    check=_check,
)

ADAPTIVE_AVG_POOL = Op(
    name="adaptive_avg_pool",
    empty_window="Never arises: every adaptive bin holds at least one input cell.",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    windows=ADAPTIVE,
)


@AVG_POOL.defines
def avg_pool(
    x,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    empty_window_derivative: str = "zero",
):
    """Mean over every window; padded cells are zero, the divisor rule is explicit.

    ``empty_window_derivative`` (``"zero"`` or ``"nan"``): the JVP of a window with no
    real cell and a zero divisor (see the module doc).

    >>> import numpy as np
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    >>> avg_pool(x, kernel_size=2, stride=2, ceil_mode=True)      # [1 2] [3 4] [5 |overhang]
    array([[[1.5, 3.5, 5. ]]])
    >>> avg_pool(x, kernel_size=3, stride=2, padding=1)           # [pad 1 2] [2 3 4] [4 5 pad]
    array([[[1., 3., 3.]]])
    >>> avg_pool(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)
    array([[[1.5, 3. , 4.5]]])
    >>> one = np.array([[[2.0]]])          # kernel 2, dilation 2, padding 1: taps -1 and 1
    >>> cfg = dict(kernel_size=2, dilation=2, padding=1, count_include_pad=False)
    >>> avg_pool(one, **cfg)
    array([[[nan]]])
    >>> from ndpool.spec import jvp
    >>> jvp("avg_pool", (one,), (one,), **cfg)[1]
    array([[[0.]]])
    >>> jvp("avg_pool", (one,), (one,), empty_window_derivative="nan", **cfg)[1]
    array([[[nan]]])

    Padding past half the kernel: the first window (taps -2, -1) lies wholly in the padding.

    >>> avg_pool(x, kernel_size=2, stride=2, padding=((2, 0),))
    array([[[0. , 1.5, 3.5]]])
    >>> avg_pool(x, kernel_size=2, stride=2, padding=((2, 0),), count_include_pad=False)
    array([[[nan, 1.5, 3.5]]])
    """
    return AVG_POOL.forward(
        x,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
        empty_window_derivative=empty_window_derivative,
    )


@ADAPTIVE_AVG_POOL.defines
def adaptive_avg_pool(x, *, output_size):
    """Mean over adaptive bins ``[floor(i*L/n), ceil((i+1)*L/n))`` on every axis.

    >>> import numpy as np
    >>> adaptive_avg_pool(np.array([[[3.0, 1.0, 4.0, 1.0, 5.0]]]), output_size=(3,))
    array([[[2., 2., 3.]]])
    """
    return ADAPTIVE_AVG_POOL.forward(x, output_size=output_size)
