"""Winner selection: the one rule behind max value, indices, JVP and VJP.

The winner of a window is

1. the first NaN among its real cells in row-major window order, if any;
2. otherwise the first real cell holding the maximum (ties: smallest window
   position wins, also when every real cell is -inf);
3. ``-1`` when the window has no real cell (its value is then -inf, or the value the
   op's ``empty_window`` option names).

How the two zeros compare is the ``signed_zeros`` convention (an option of max and
adaptive max pooling):

- ``"tie"`` (default, as PyTorch): ``-0.0 == +0.0``, so a window holding both selects the
  first zero in window order, whatever its sign;
- ``"ordered"`` (IEEE 754 ``maximum``, as ``jax.lax.max``): ``-0.0 < +0.0``, so a
  ``+0.0`` beats every tied ``-0.0`` and the first ``+0.0`` wins.

Padded cells are *absent*: they never win and are never compared, so a window
of real ``-inf`` cells next to padding selects its first real cell, not a pad.

>>> import numpy as np
>>> real = np.array([True, True, True, True])
>>> first_maximizer(np.array([[1.0, 3.0, 3.0, 2.0]]), real).tolist()
[1]
>>> first_maximizer(np.array([[1.0, np.nan, 3.0, np.nan]]), real).tolist()
[1]
>>> padded = np.array([False, True, True, False])        # cells 0 and 3 are padding
>>> first_maximizer(np.array([[0.0, -np.inf, -np.inf, 0.0]]), padded).tolist()
[1]
>>> zeros = np.array([[-0.0, 0.0]])
>>> first_maximizer(zeros, real[:2]).tolist()               # "tie": the first zero
[0]
>>> first_maximizer(zeros, real[:2], "ordered").tolist()    # IEEE maximum: the +0.0
[1]
"""

from __future__ import annotations

import numpy as np

from .numeric import const, is_integer, is_object, isnan
from .op import one_hot, pick

SIGNED_ZEROS = ("tie", "ordered")


def first_maximizer(w: np.ndarray, real: np.ndarray, signed_zeros: str = "tie") -> np.ndarray:
    """Window-local index of the winner, ``[..., K] -> [...]`` (-1: no real cell);
    ``signed_zeros`` says whether ``-0.0`` and ``+0.0`` tie or are ordered (see above).
    Object arrays (mpmath) have no signed zeros: both conventions agree there."""
    real = np.broadcast_to(real, w.shape)
    nan = real & isnan(w)
    any_nan = nan.any(axis=-1)
    # the least value of the number type: -inf, or an integer dtype's minimum (exact: an
    # int64 window is compared as int64, never through float64)
    ninf = np.iinfo(w.dtype).min if is_integer(w) else const("-inf", w)
    candidates = np.where(real & ~nan, w, ninf)
    m = candidates.max(axis=-1) if w.shape[-1] else np.full(w.shape[:-1], ninf)
    top = real & ~nan & (candidates == m[..., None])
    if signed_zeros == "ordered" and not is_object(w):
        positive_zero = top & (candidates == 0) & ~np.signbit(candidates)
        top = np.where(positive_zero.any(axis=-1, keepdims=True), positive_zero, top)
    hit = np.where(any_nan[..., None], nan, top)
    return np.where(hit.any(axis=-1), hit.argmax(axis=-1), -1)


def selection_rules(select):
    """The JVP and VJP rules of an op whose value is the window cell ``select`` picks:
    the tangent of the selected cell, and the cotangent sent back to it (nothing for an
    empty window). Max, median and the other selection ops share them, so value,
    index, JVP and VJP always agree on the cell."""

    def jvp(w, params, call, w_dot, param_dots):
        return pick(w_dot, select(w, params, call), 0)

    def vjp(w, params, call, y_bar):
        return (one_hot(select(w, params, call), w.shape[-1], y_bar),)

    return jvp, vjp
