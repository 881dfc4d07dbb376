"""Scope facts the framework targets' deviation registries use, added to
:data:`ndpool.conformance.deviations.FACTS` when a framework target is imported
(``deviations/onnxruntime.toml`` and friends name them in their ``scope``)."""

from __future__ import annotations

import numpy as np

from .cases import Case
from .deviations import FACTS


def _values(case: Case, key: str, default) -> tuple:
    v = case.cfg.get(key, default)
    if v is None:
        v = default
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * case.d


def dilated(case: Case) -> bool:
    """Some axis has dilation > 1."""
    return any(int(v) > 1 for v in _values(case, "dilation", 1))


def nan_input(case: Case) -> bool:
    """The input holds a NaN (read by a window or not)."""
    return bool(np.isnan(case.x).any())


def padding_reaches_kernel(case: Case) -> bool:
    """Some explicit padding is >= the kernel size on its axis (ONNX Runtime's limit)."""
    p = case.cfg.get("padding", 0)
    if isinstance(p, str) or "kernel_size" not in case.cfg:
        return False
    kernel = _values(case, "kernel_size", 1)
    if isinstance(p, (tuple, list)) and any(isinstance(v, (tuple, list)) for v in p):
        pairs = [tuple(v) for v in p]
    else:
        pairs = [(v, v) for v in _values(case, "padding", 0)]
    return any(max(b, e) >= k for (b, e), k in zip(pairs, kernel))


def output_size_one(case: Case) -> bool:
    """Adaptive pooling to one cell on every axis (ONNX GlobalMaxPool / GlobalAveragePool)."""
    sizes = case.cfg.get("output_size")
    if sizes is None:
        return False
    spatial = case.x.shape[-case.d :]
    sizes = sizes if isinstance(sizes, (tuple, list)) else (sizes,) * case.d
    return all((length if n is None else n) == 1 for n, length in zip(sizes, spatial))


NEW_FACTS = {
    "dilated": dilated,
    "nan_input": nan_input,
    "padding_reaches_kernel": padding_reaches_kernel,
    "output_size_one": output_size_one,
}
for _name, _fact in NEW_FACTS.items():
    FACTS.setdefault(_name, _fact)


def subnormal_input(case: Case) -> bool:
    """The input holds a subnormal number of its dtype (flushed to zero by FTZ/DAZ code)."""
    from .cases import SMALLEST_NORMAL

    a = np.abs(case.x)
    return bool(((a > 0) & (a < SMALLEST_NORMAL[case.dtype])).any())


def subnormal_in_or_out(case: Case) -> bool:
    """The input, or the spec's result, holds a subnormal number of the case's dtype."""
    from .cases import SMALLEST_NORMAL

    if subnormal_input(case):
        return True
    with np.errstate(all="ignore"):
        y = case.with_x(case.x, return_indices=False).spec_forward()
    a = np.abs(np.asarray(y, dtype=np.float64))
    return bool(((a > 0) & (a < SMALLEST_NORMAL[case.dtype])).any())


def neg_inf_window(case: Case) -> bool:
    """Some window's largest real cell is -inf (its max is -inf)."""
    from .tolerances import Windows

    win = Windows(case)
    real = np.broadcast_to(win.real, win.w.shape)
    w = np.where(real & ~np.isnan(win.w), win.w, np.nan)
    has = real.any(axis=-1)
    with np.errstate(invalid="ignore"):
        top = np.where(np.isnan(w), -np.inf, w).max(axis=-1, initial=-np.inf)
    return bool((has & (top == -np.inf)).any())


def several_planes(case: Case) -> bool:
    """More than one (N, C) plane: a flat index over the whole tensor differs from a
    per-plane one."""
    lead = case.x.shape[: case.x.ndim - case.d]
    return int(np.prod(lead)) > 1


def padded(case: Case) -> bool:
    """Some window reaches into padding (explicit padding > 0, or "same" / "same_lower")."""
    p = case.cfg.get("padding", 0)
    if isinstance(p, str):
        return p != "valid"
    flat = [v for q in (p if isinstance(p, (tuple, list)) else [p]) for v in np.ravel(q)]
    return any(int(v) > 0 for v in flat)


def signed_zero_tie(case: Case) -> bool:
    """A window holds both -0.0 and +0.0 (a tie for the spec, not for an IEEE maxNum)."""
    from .tolerances import Windows

    win = Windows(case)
    real = np.broadcast_to(win.real, win.w.shape)
    zero = real & (win.w == 0)
    neg = (zero & np.signbit(win.w)).any(axis=-1)
    pos = (zero & ~np.signbit(win.w)).any(axis=-1)
    return bool((neg & pos).any())


NEW_FACTS.update(
    {
        "padded": padded,
        "signed_zero_tie": signed_zero_tie,
        "subnormal_input": subnormal_input,
        "subnormal_in_or_out": subnormal_in_or_out,
        "neg_inf_window": neg_inf_window,
        "several_planes": several_planes,
    }
)
for _name, _fact in NEW_FACTS.items():
    FACTS.setdefault(_name, _fact)
