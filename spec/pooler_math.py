"""Elementwise and masked window helpers shared by the learnable poolers.

Every function works on float64 arrays and on object arrays of ``mpmath.mpf``
(the high-precision oracle), in a form that does not overflow or cancel:

- ``sigmoid(z)``: ``1/(1+e^-z)`` for ``z >= 0`` and ``e^z/(1+e^z)`` otherwise;
- ``log_sigmoid(z) = -softplus(-z) = min(z, 0) - log1p(e^-|z|)``;
- ``logit(q) = log q - log1p(-q)``;
- ``masked_*``: reductions over the last (window) axis that only see the cells
  where ``mask`` is true.

>>> import numpy as np
>>> sigmoid(np.array([-800.0, 0.0, 800.0]))
array([0. , 0.5, 1. ])
>>> log_sigmoid(np.array([-800.0, 0.0])).round(6).tolist()    # no overflow at -800
[-800.0, -0.693147]
>>> bool(np.isclose(logit(np.array(0.75)), np.log(3)))
True
"""

from __future__ import annotations

import numpy as np

# the elementwise helpers are numeric's, re-exported for the poolers' modules
from .numeric import _mp, exp, is_object, isfinite, isnan, log, zeros_like  # noqa: F401


def _obj(*arrays) -> bool:
    return any(is_object(np.asarray(a)) for a in arrays)


def _map(fn, *arrays) -> np.ndarray:
    return np.asarray(np.frompyfunc(fn, len(arrays), 1)(*arrays), dtype=object)


def sigmoid(z):
    z = np.asarray(z)
    if _obj(z):
        mp = _mp()
        return _map(lambda v: 1 / (1 + mp.exp(-v)), z)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log_sigmoid(z):
    z = np.asarray(z)
    if _obj(z):
        mp = _mp()
        return _map(lambda v: min(v, 0) - mp.log1p(mp.exp(-abs(v))), z)
    return np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))


def logit(q):
    q = np.asarray(q)
    if _obj(q):
        mp = _mp()
        return _map(lambda v: mp.log(v) - mp.log1p(-v), q)
    with np.errstate(divide="ignore"):
        return np.log(q) - np.log1p(-q)


def const(value, like):
    """``value`` in the number type of ``like`` (mpf for object arrays)."""
    if is_object(np.asarray(like)):
        return _mp().mpf(value)
    return np.float64(value)


def masked_sum(a, mask):
    """``sum`` over the last axis of the cells where ``mask`` holds."""
    a = np.asarray(a)
    return np.where(mask, a, zeros_like(a)).sum(axis=-1)


def masked_max(a, mask):
    """``max`` over the masked cells (``-inf`` for an empty window; NaN-unaware)."""
    a = np.asarray(a)
    ninf = const("-inf", a)
    return np.where(mask, a, ninf).max(axis=-1) if a.shape[-1] else np.full(a.shape[:-1], ninf)


def masked_min(a, mask):
    a = np.asarray(a)
    pinf = const("inf", a)
    return np.where(mask, a, pinf).min(axis=-1) if a.shape[-1] else np.full(a.shape[:-1], pinf)


def masked_softmax(logits, mask):
    """``(p, log_total)``: softmax of ``logits`` over the masked cells (0 elsewhere)
    and ``log sum exp`` of them, shifted by the max so nothing overflows. Windows
    with no masked cell, or a non-finite max, get ``p = 0`` and ``log_total = max``."""
    logits = np.asarray(logits)
    mask = np.broadcast_to(mask, logits.shape)
    top = masked_max(logits, mask)
    finite = isfinite(top)
    shift = np.where(finite, top, zeros_like(top))
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.where(mask, exp(np.where(mask, logits - shift[..., None], zeros_like(logits))), 0)
        e = np.where(mask, e, zeros_like(logits))
        total = e.sum(axis=-1)
        safe = np.where(finite, total, const(1, total))
        p = np.where(finite[..., None], e / safe[..., None], zeros_like(logits))
        log_total = np.where(finite, shift + log(safe), top)
    return p, log_total
