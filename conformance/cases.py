"""One drawn test case: the op, its arrays, its configuration, dtype and layout.

Arrays in a :class:`Case` are float64 NumPy arrays whose values are exactly
representable in ``case.dtype`` (they were rounded to it when drawn), so the spec,
evaluated in float64 on them, is the exact reference for the target's dtype.

Integer dtypes (:data:`INTEGER_DTYPES`, for the ops that take them: max pooling) are
carried the same way: float64 holds every int8 ... uint32 value exactly, and int64 values
are drawn within +-2**53, where it still does (the spec's own meta-tests cover int64's whole
range). The spec runs on the array in the integer dtype itself (an empty window is then
the dtype's minimum, not -inf), and is compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ndpool import spec

#: Unit roundoff u (half an ulp of 1), smallest normal, largest finite, of each dtype.
UNIT_ROUNDOFF = {"float16": 2.0**-11, "bfloat16": 2.0**-8, "float32": 2.0**-24, "float64": 2.0**-53}
SMALLEST_NORMAL = {
    "float16": 2.0**-14,
    "bfloat16": 2.0**-126,
    "float32": 2.0**-126,
    "float64": 2.0**-1022,
}
SMALLEST_SUBNORMAL = {
    "float16": 2.0**-24,
    "bfloat16": 2.0**-133,
    "float32": 2.0**-149,
    "float64": 5e-324,
}
LARGEST = {
    "float16": 65504.0,
    "bfloat16": 3.3895313892515355e38,
    "float32": float(np.finfo(np.float32).max),
    "float64": float(np.finfo(np.float64).max),
}

#: The integer dtypes a target may declare (for the ops whose record takes integers).
INTEGER_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64")
#: int64 values are carried in float64: drawn within +-2**53, where it is exact
FLOAT64_EXACT_INT = 2**53


def is_integer_dtype(dtype: str) -> bool:
    return dtype in INTEGER_DTYPES


def integer_range(dtype: str) -> tuple[int, int]:
    """The least and largest value drawn for an integer dtype (its own range; int64's
    within float64's exact integers)."""
    info = np.iinfo(np.dtype(dtype))
    return max(int(info.min), -FLOAT64_EXACT_INT), min(int(info.max), FLOAT64_EXACT_INT)


# integers are exact: no rounding (0), a step of 1, their largest value
for _name in INTEGER_DTYPES:
    UNIT_ROUNDOFF[_name] = 0.0
    SMALLEST_NORMAL[_name] = SMALLEST_SUBNORMAL[_name] = 1.0
    LARGEST[_name] = float(integer_range(_name)[1])


def _round_bfloat16(a: np.ndarray) -> np.ndarray:
    """Round float64 values to bfloat16 (round to nearest even), returned as float64."""
    f = np.asarray(a, dtype=np.float64).astype(np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    nan = np.isnan(f)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    out = rounded.astype(np.uint32).view(np.float32).astype(np.float64)
    return np.where(nan, np.nan, out)


def to_dtype(a, dtype: str) -> np.ndarray:
    """Round to ``dtype`` and return the values as float64 (exactly). An integer dtype
    rounds to the nearest integer and saturates at its range (:func:`integer_range`); a
    NaN or infinite value has no integer value: ValueError."""
    a = np.asarray(a, dtype=np.float64)
    if is_integer_dtype(dtype):
        if not np.isfinite(a).all():
            raise ValueError(f"a NaN or infinite value has no {dtype} value")
        lo, hi = integer_range(dtype)
        return np.clip(np.rint(a), lo, hi)
    if dtype == "bfloat16":
        # (via float32: a double rounding, harmless here since drawn values only need to
        # be representable; the suite never uses this to round a reference result)
        return _round_bfloat16(a)
    with np.errstate(over="ignore"):
        return a.astype(np.dtype(dtype)).astype(np.float64)


def from_dtype(a: Any) -> np.ndarray:
    """Any array (NumPy, torch, or anything with ``__array__``) as a float64 NumPy array."""
    if a is None:
        return None
    mod = type(a).__module__
    if mod.startswith("torch"):
        a = a.detach()
        if a.is_floating_point():
            a = a.to("cpu").double()
        else:
            a = a.to("cpu")
        return a.resolve_conj().resolve_neg().numpy().astype(np.float64)
    return np.asarray(a).astype(np.float64)


#: Options whose value depends on the input's dtype beyond its rounding: the spec then
#: runs on ``x`` in the case's NumPy dtype (its values are exact in it), e.g. max_pool's
#: ``empty_window="lowest"``, the dtype's lowest finite value (bfloat16, which NumPy lacks,
#: stays float64: a target must not declare such a convention for bfloat16).
DTYPE_DEPENDENT_OPTIONS = {"empty_window": ("lowest",)}


def dtype_dependent(cfg: dict[str, Any]) -> bool:
    """Whether ``cfg`` selects a dtype-dependent convention (:data:`DTYPE_DEPENDENT_OPTIONS`)."""
    return any(cfg.get(k) in values for k, values in DTYPE_DEPENDENT_OPTIONS.items())


@dataclass
class Case:
    """``op(x, *params, **cfg)`` evaluated in ``dtype`` and ``layout``."""

    op: str
    x: np.ndarray
    params: tuple[np.ndarray, ...] = ()
    cfg: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float64"
    layout: str = "contiguous"
    batched: bool = True
    return_indices: bool = False
    #: facts the strategy knows about the draw (not needed to rebuild the case)
    meta: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def primals(self) -> tuple[np.ndarray, ...]:
        return (self.x, *self.params)

    @property
    def record(self):
        return spec.OPS[self.op]

    @property
    def d(self) -> int:
        return self.x.ndim - (2 if self.batched else 1)

    def spec_forward(self):
        """The spec's float64 result on the case's (dtype-exact) values (in the case's own
        dtype where a convention depends on it, see :func:`dtype_dependent`, and for an
        integer dtype, whose empty window is the dtype's minimum)."""
        kw = dict(self.cfg)
        if self.return_indices:
            kw["return_indices"] = True
        own = (dtype_dependent(self.cfg) and self.dtype in ("float16", "float32")) or (
            is_integer_dtype(self.dtype)
        )
        x = self.x.astype(np.dtype(self.dtype)) if own else self.x
        with np.errstate(all="ignore"):
            out = self.record.function(x, *self.params, **kw)
        if not own:
            return out
        return (from_dtype(out[0]), *out[1:]) if isinstance(out, tuple) else from_dtype(out)

    def with_x(self, x: np.ndarray, **changes: Any) -> Case:
        data = dict(self.__dict__)
        data.update(x=x, meta=dict(self.meta))
        data.update(changes)
        return Case(**data)

    def describe(self) -> str:
        params = ", ".join(f"{n}={_short(p)}" for n, p in zip(self.record.inputs[1:], self.params))
        cfg = ", ".join(f"{k}={v!r}" for k, v in self.cfg.items())
        parts = [f"{self.op}(x: shape {self.x.shape}"]
        if params:
            parts.append(params)
        if cfg:
            parts.append(cfg)
        if self.return_indices:
            parts.append("return_indices=True")
        return (
            ", ".join(parts) + f") dtype={self.dtype} layout={self.layout} batched={self.batched}"
        )

    def code(self) -> str:
        """Python source that rebuilds this case."""
        params = ", ".join(array_code(p) for p in self.params)
        return (
            "case = Case(\n"
            f"    op={self.op!r},\n"
            f"    x={array_code(self.x)},\n"
            f"    params=({params}{',' if len(self.params) == 1 else ''}),\n"
            f"    cfg={self.cfg!r},\n"
            f"    dtype={self.dtype!r}, layout={self.layout!r}, batched={self.batched!r},\n"
            f"    return_indices={self.return_indices!r},\n"
            ")"
        )


def _short(a: np.ndarray) -> str:
    if a is None:
        return "None"
    a = np.asarray(a)
    if a.ndim >= 2 and a.size > 8:  # a random draw [N, C, *O(, K)]: its shape is enough here
        return f"<{a.dtype.name} array of shape {a.shape}>"
    return repr(a.item()) if a.ndim == 0 else repr(a.tolist())


def array_code(a: np.ndarray) -> str:
    """``np.array(...)`` source that rebuilds ``a`` exactly (float64 reprs round-trip)."""
    if a is None or not isinstance(a, (np.ndarray, np.generic)):
        return repr(a)  # None, or a value of the wrong type drawn to be rejected: as it is
    a = np.asarray(a)
    if a.dtype.kind == "f":
        flat = ", ".join(_float_code(v) for v in a.reshape(-1).tolist())
        body = f"np.array([{flat}], dtype=np.float64)"
    else:
        body = f"np.array({a.reshape(-1).tolist()!r}, dtype=np.{a.dtype.name})"
    return f"{body}.reshape({a.shape!r})"


def _float_code(v: float) -> str:
    if v != v:
        return "np.nan"
    if v in (float("inf"), float("-inf")):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(v)


def reproducer(case: Case, target_construct: str, call: str) -> str:
    """A runnable snippet: build the target and the case, run target and spec side by side."""
    return "\n".join(
        [
            "import numpy as np",
            "from ndpool.conformance.cases import Case",
            target_construct,
            case.code(),
            call,
        ]
    )
