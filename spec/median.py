"""Median pooling: the lower-middle real cell of every window.

For the ``n`` real cells of a window (padded cells are absent, as for max),
the output is the ``(n - 1) // 2``-th smallest value (0-based) -- the lower of
the two middle values when ``n`` is even, which is what ``torch.median`` returns.
For a window of two cells (``K = 2``) this is **min pooling**.

Selection (one rule for the value, the index, the JVP and the VJP):

- the selected cell is the *first cell in row-major window order* holding the
  median value (ties by first occurrence);
- NaN propagates: a window with a NaN real cell outputs NaN and selects its
  first NaN (as max does);
- a window with no real cell (wholly in the padding, or between dilated taps) is
  NaN with index -1 and a zero derivative.

Derivatives: ``y_dot = x_dot[selected]``; ``x_bar[selected] += y_bar``.
``return_indices`` gives PyTorch-style flat indices into the ``[*S]`` plane.
"""

from __future__ import annotations

import numpy as np

from . import numeric as nm
from .op import Op, pick
from .selection import selection_rules


def _select(w, params, call):
    real = np.broadcast_to(call.real, w.shape)
    nan = real & nm.isnan(w)
    any_nan = nan.any(axis=-1)
    n = real.sum(axis=-1)
    clean = real & ~nan
    cand = np.where(clean, w, nm.const("inf", w))
    k = w.shape[-1]
    if k:
        ranked = np.sort(cand, axis=-1)
        med = np.take_along_axis(ranked, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)
        hit = clean & (w == med)
    else:
        hit = clean
    hit = np.where(any_nan[..., None], nan, hit)
    found = hit.any(axis=-1) & (n > 0)
    return np.where(found, hit.argmax(axis=-1) if k else -1, -1)


def _value(w, params, call):
    return pick(w, _select(w, params, call), nm.const("nan", w))


_jvp, _vjp = selection_rules(_select)


MEDIAN_POOL = Op(
    name="median_pool",
    empty_window="NaN, index -1, derivatives 0.",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    exact=True,
    select=_select,
)


@MEDIAN_POOL.defines
def median_pool(
    x,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """The lower-middle real cell of every window (see the module doc).

    >>> import numpy as np
    >>> x = np.array([[[4.0, 1.0, 3.0, 3.0, 9.0, 2.0]]])
    >>> median_pool(x, kernel_size=3, return_indices=True)     # [4 1 3] [3 9 2]
    (array([[[3., 3.]]]), array([[[2, 3]]]))
    >>> median_pool(x, kernel_size=2)                          # K = 2: min pooling
    array([[[1., 3., 2.]]])
    >>> median_pool(np.array([[[5.0, 5.0, 5.0, 1.0]]]), kernel_size=4, return_indices=True)
    (array([[[5.]]]), array([[[0]]]))

    The last window ``[5 5 5 1]`` sorts to ``1 5 5 5``; the lower middle is 5 and the
    first 5 in window order (cell 0) is selected.
    """
    return MEDIAN_POOL.forward(
        x,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        return_indices=return_indices,
    )
