"""How the spec computes: float64 internally, one rounding to the input dtype.

Integer inputs (max pooling only, :data:`INTEGER_DTYPES`) are compared in int64, which
holds every such dtype's values exactly, and returned in the input's dtype: exact.

The spec evaluates every op in float64 (or, for object arrays of ``mpmath.mpf``,
in the precision of mpmath) and rounds the result once to the dtype of the
input. For float16 and float32 inputs the spec's output is therefore the
float64 result correctly rounded to the narrow type, which is the reference the
conformance tolerances are measured against.

Object arrays are the high-precision oracle: the elementwise functions here
dispatch to mpmath for them, since NumPy's ufuncs do not know ``mpf``. Every
function works on both, in a form that does not overflow or cancel:

- ``power``: IEEE 754 ``pow`` (also at -inf and -0, where NumPy's square root differs);
- ``sigmoid(z)``: ``1/(1+e^-z)`` for ``z >= 0`` and ``e^z/(1+e^z)`` otherwise;
- ``log_sigmoid(z) = -softplus(-z) = min(z, 0) - log1p(e^-|z|)``;
- ``logit(q) = log q - log1p(-q)``;
- ``masked_*``: reductions over the last (window) axis that only see the cells
  where ``mask`` is true; ``const(value, like)``: a number in ``like``'s number type;
- ``product``: a product of several factors rounded once (no partial product underflows
  or overflows).

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

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
#: The integer dtypes an op that declares ``integers`` (max pooling) takes: every one whose
#: values int64 holds exactly, so the spec compares them in int64 and returns the input's
#: dtype. (Not uint64, which int64 cannot hold, and not bool: max over bools is a logical
#: OR that no framework's pooling offers; cast to uint8 for the same values.)
INTEGER_DTYPES = tuple(
    np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64)
)


def is_object(a: np.ndarray) -> bool:
    return a.dtype == object


def is_integer(a: np.ndarray) -> bool:
    """An array of one of :data:`INTEGER_DTYPES` (bool is not an integer here)."""
    return np.asarray(a).dtype in INTEGER_DTYPES


def check_dtype(x: np.ndarray, name: str = "x", *, integers: bool = False, op: str = "") -> None:
    """A TypeError unless ``x`` is a float dtype, an object array (mpmath), or -- where the
    op takes them (``integers``) -- one of :data:`INTEGER_DTYPES`."""
    if x.dtype in FLOAT_DTYPES or is_object(x) or (integers and x.dtype in INTEGER_DTYPES):
        return
    who = f"{op}: " if op else ""
    if x.dtype in INTEGER_DTYPES:
        raise TypeError(
            f"{who}{name} has dtype {x.dtype}; integer inputs are taken by the ops whose value "
            "is a window cell (max_pool, adaptive_max_pool) only; this op takes float16, "
            "float32, float64 or object arrays of mpmath.mpf"
        )
    raise TypeError(
        f"{who}{name} has dtype {x.dtype}; the spec takes float16, float32, float64 "
        "or object arrays of mpmath.mpf (max pooling also int8, uint8, int16, uint16, "
        "int32, uint32, int64)"
    )


def lowest(dtype) -> int | float:
    """The least value of ``dtype``: the dtype's minimum for an integer dtype (the identity
    of max over it, what an empty max window holds there), -inf for a float dtype."""
    dtype = np.dtype(dtype)
    return int(np.iinfo(dtype).min) if dtype in INTEGER_DTYPES else float("-inf")


def to_compute(a) -> np.ndarray:
    """The array in the dtype the spec computes in (float64, or object kept as is)."""
    a = np.asarray(a)
    if is_object(a):
        return a
    return a.astype(np.float64)


def compute_dtype(*arrays: np.ndarray) -> np.dtype:
    """object if any input is an object array; int64 for an integer ``x`` (the first array:
    only ops that select a cell take one, and int64 holds every integer dtype's values
    exactly, where float64 would round an int64 past 2**53); else float64."""
    if any(is_object(np.asarray(a)) for a in arrays):
        return np.dtype(object)
    if arrays and is_integer(arrays[0]):
        return np.dtype(np.int64)
    return np.dtype(np.float64)


def round_to(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round a float64 / object result once to the caller's dtype."""
    if np.dtype(dtype).kind == "O":
        return np.asarray(a, dtype=object)
    return np.asarray(a).astype(dtype)


def _mp():
    import mpmath

    return mpmath


def exp(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if is_object(a):
        return np.frompyfunc(_mp().exp, 1, 1)(a).astype(object)
    with np.errstate(over="ignore"):
        return np.exp(a)


def log(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if is_object(a):
        mp = _mp()

        def _log(v):
            if v > 0:
                return mp.log(v)
            return mp.mpf("-inf") if v == 0 else mp.mpf("nan")  # as np.log: no complex results

        return np.frompyfunc(_log, 1, 1)(a).astype(object)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(a)


def isnan(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if is_object(a):
        mp = _mp()
        return np.frompyfunc(lambda v: bool(mp.isnan(v)), 1, 1)(a).astype(bool)
    return np.isnan(a)


def isfinite(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if is_object(a):
        mp = _mp()
        return np.frompyfunc(lambda v: bool(mp.isfinite(v)), 1, 1)(a).astype(bool)
    return np.isfinite(a)


def _neg_inf_pow(e, base_is_zero=False):
    """IEEE 754 ``pow(-inf, e)``: -inf for an odd integer e > 0, +inf for any other e > 0,
    -0 for an odd integer e < 0, +0 for any other e < 0, 1 for e = 0 (NaN: NaN).
    ``pow(-0, e)`` is the same with the roles of e > 0 and e < 0 swapped."""
    e = np.asarray(e, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        odd = (e == np.round(e)) & (np.abs(np.fmod(e, 2)) == 1)
    big = np.where(odd, -np.inf, np.inf)
    small = np.where(odd, -0.0, 0.0)
    if base_is_zero:
        big, small = small, big
    return np.where(e > 0, big, np.where(e < 0, small, np.where(e == 0, 1.0, np.nan)))


def pow2_ceiling(m: np.ndarray) -> np.ndarray:
    """The power of two ``2**e`` with ``m < 2**e <= 2 m`` for finite ``m > 0`` (capped at
    ``2**1023``, which keeps it finite); 0, inf and NaN stay as they are. Dividing by it
    is exact (barring underflow), so a sum scaled by it rounds as the unscaled sum would."""
    if is_object(m):
        mp = _mp()

        def _ceil(v):
            v = mp.mpf(v)
            if v == 0 or mp.isinf(v) or mp.isnan(v):
                return v
            return mp.ldexp(mp.mpf(1), min(int(mp.frexp(v)[1]), 1023))

        return np.frompyfunc(_ceil, 1, 1)(m).astype(object)
    m = np.asarray(m, dtype=np.float64)
    _, e = np.frexp(m)  # m = f 2^e with f in [0.5, 1)
    up = np.ldexp(np.ones_like(m), np.minimum(e, 1023))
    return np.where((m == 0) | ~np.isfinite(m), m, up)


def power(a: np.ndarray, p) -> np.ndarray:
    """IEEE 754 ``pow`` semantics: a finite negative base with a non-integer exponent is
    NaN; ``pow(-inf, e)`` is +inf for e > 0 unless e is an odd integer (then -inf).
    (NumPy's float ``power`` computes ``e = 0.5`` as a square root: NaN at -inf and -0
    at -0; both are put right here, so the spec has one rule for every exponent.)"""
    if is_object(a) or is_object(np.asarray(p)):
        mp = _mp()

        def _pow(b, e):
            b, e = mp.mpf(b), mp.mpf(e)
            if mp.isinf(b) and b < 0 and not mp.isnan(e):
                return mp.mpf(float(_neg_inf_pow(float(e))))
            if b < 0 and e != int(e):
                return mp.mpf("nan")
            if b == 0:
                return mp.mpf(0) if e > 0 else (mp.mpf(1) if e == 0 else mp.mpf("inf"))
            return b**e

        return np.frompyfunc(_pow, 2, 1)(a, p).astype(object)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = np.power(a, p)
        neg_inf = np.isneginf(a)
        if np.any(neg_inf):
            out = np.where(neg_inf, _neg_inf_pow(p).astype(out.dtype), out)
        neg_zero = (a == 0) & np.signbit(a)
        if np.any(neg_zero):
            out = np.where(neg_zero, _neg_inf_pow(p, base_is_zero=True).astype(out.dtype), out)
        return out


def xlogx_safe(a: np.ndarray, logs: np.ndarray) -> np.ndarray:
    """``a * logs`` with the convention 0 * (-inf) = 0 (the limit of t^p log t)."""
    with np.errstate(invalid="ignore"):
        return np.where(a == 0, 0 * a, a * np.where(a == 0, 0 * a, logs))


def zeros_like(a: np.ndarray) -> np.ndarray:
    """Zeros of ``a``'s shape and number type (unlike ``0 * a``, also where ``a`` is inf)."""
    a = np.asarray(a)
    if is_object(a):
        return np.full(a.shape, _mp().mpf(0), dtype=object)
    return np.zeros_like(a)


# -- the logistic function and masked window reductions ----------------------------------
def _map(fn, *arrays) -> np.ndarray:
    return np.asarray(np.frompyfunc(fn, len(arrays), 1)(*arrays), dtype=object)


def sigmoid(z):
    z = np.asarray(z)
    if is_object(z):
        mp = _mp()
        return _map(lambda v: 1 / (1 + mp.exp(-v)), z)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log_sigmoid(z):
    z = np.asarray(z)
    if is_object(z):
        mp = _mp()
        return _map(lambda v: min(v, 0) - mp.log1p(mp.exp(-abs(v))), z)
    return np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))


def logit(q):
    q = np.asarray(q)
    if is_object(q):
        mp = _mp()
        return _map(lambda v: mp.log(v) - mp.log1p(-v), q)
    with np.errstate(divide="ignore"):
        return np.log(q) - np.log1p(-q)


def const(value, like):
    """``value`` in the number type of ``like`` (mpf for object arrays)."""
    if is_object(np.asarray(like)):
        return _mp().mpf(value)
    return np.float64(value)


def product(*factors):
    """The product of the factors, rounded once: their significands multiplied (each in
    [0.5, 1), so no partial product leaves the normal range), their exponents added, one
    ``ldexp``. A product of float64 factors, one of them subnormal, is then the correctly
    rounded value, where ``a * b * c`` may round ``a * b`` into the subnormal range first
    and lose most of it (``0.5 * 5e-324 * 20`` is 0 that way, 5e-323 exactly). Object
    (mpmath) factors multiply as they are."""
    arrays = [np.asarray(f) for f in factors]
    if any(is_object(a) for a in arrays):
        out = arrays[0]
        for a in arrays[1:]:
            out = out * a
        return out
    significand, exponent = np.frexp(arrays[0])
    for a in arrays[1:]:
        m, e = np.frexp(a)
        significand, exponent = significand * m, exponent + e
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(significand, exponent)


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
