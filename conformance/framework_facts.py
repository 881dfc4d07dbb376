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


def _pairs(case: Case) -> list[tuple[int, int]]:
    p = case.cfg.get("padding", 0)
    if isinstance(p, (tuple, list)) and any(isinstance(v, (tuple, list)) for v in p):
        return [tuple(int(a) for a in v) for v in p]
    return [(int(v), int(v)) for v in _values(case, "padding", 0)]


def ceil_extra_padding_at_begin(case: Case) -> bool:
    """ceil_mode with explicit padding where the last window overhangs the padded input by
    2 cells or more on some axis (the ONNX reference evaluator puts half of that overhang
    at the beginning of the axis, shifting every window)."""
    if not case.cfg.get("ceil_mode") or isinstance(case.cfg.get("padding", 0), str):
        return False
    from .tolerances import geometry

    kernel = _values(case, "kernel_size", 1)
    stride = _values(case, "stride", None)
    stride = kernel if None in stride else stride
    dilation = _values(case, "dilation", 1)
    spatial = case.x.shape[-case.d :]
    out = geometry(case).spatial_out
    for n, k, s, dl, (b, e), length in zip(out, kernel, stride, dilation, _pairs(case), spatial):
        if (n - 1) * int(s) + int(dl) * (int(k) - 1) + 1 - length - b - e >= 2:
            return True
    return False


def _same_totals(case: Case) -> list[tuple[int, int, int]]:
    """Per axis ``(L, stride, total)`` for "same" / "same_lower" padding, where ``total`` is
    ONNX's unclamped SAME padding ``(ceil(L/stride)-1)*stride + eff - L`` (the spec clamps
    it at 0); empty for any other padding."""
    if case.cfg.get("padding") not in ("same", "same_lower") or "kernel_size" not in case.cfg:
        return []
    kernel = _values(case, "kernel_size", 1)
    stride = _values(case, "stride", None)
    stride = kernel if None in stride else stride
    dilation = _values(case, "dilation", 1)
    out = []
    for length, k, s, dl in zip(case.x.shape[-case.d :], kernel, stride, dilation):
        length, s = int(length), int(s)
        eff = int(dl) * (int(k) - 1) + 1
        out.append((length, s, (-(-length // s) - 1) * s + eff - length))
    return out


def same_padding_negative(case: Case) -> bool:
    """Padding "same" / "same_lower" where ONNX's SAME padding formula
    ``(ceil(L/stride)-1)*stride + eff - L`` is negative on some axis (possible only with a
    stride longer than the effective kernel); the spec clamps it to 0."""
    return any(total < 0 for _, _, total in _same_totals(case))


def same_lower_strided_uneven(case: Case) -> bool:
    """Padding "same_lower" with a stride > 1 on some axis, and some axis whose extent is
    not a multiple of its stride or whose (clamped) total SAME padding is odd: where the
    ONNX reference's strided MaxPool, which sizes the output floor(L/stride) and puts the
    smaller half of the padding first (SAME_UPPER's split), differs from SAME_LOWER."""
    if case.cfg.get("padding") != "same_lower":
        return False
    axes = _same_totals(case)
    if not any(s > 1 for _, s, _ in axes):
        return False
    return any(length % s or max(total, 0) % 2 for length, s, total in axes)


def nan_filtering_node(case: Case) -> bool:
    """The ONNX node built for the case (conformance/target_onnx.py) averages with
    count_include_pad unset or 0, where the ONNX reference evaluator pads with NaN and
    filters NaN out of each window: LpPool, AveragePool for avg_pool with
    count_include_pad=False, and for adaptive_avg_pool unless it is GlobalAveragePool
    (output size 1 on every axis)."""
    if case.op == "lp_pool":
        return True
    if case.op == "avg_pool":
        return not case.cfg.get("count_include_pad", True)
    if case.op == "adaptive_avg_pool":
        return not output_size_one(case)
    return False


def count_include_pad(case: Case) -> bool | None:
    """avg_pool's ``count_include_pad`` (the spec's default, True, when unset); None for
    the other ops."""
    if case.op != "avg_pool":
        return None
    return bool(case.cfg.get("count_include_pad", True))


def _global_max_node(case: Case) -> bool:
    """adaptive_max_pool to one cell on every axis without indices: GlobalMaxPool."""
    return case.op == "adaptive_max_pool" and output_size_one(case) and not case.return_indices


def np_max_node(case: Case) -> bool:
    """The ONNX node built for a max case (conformance/target_onnx.py) is one the ONNX
    reference evaluator runs through its generic pooling loop, which reduces each window
    with np.max (its index with np.argmax): MaxPool with every stride and dilation 1
    (adaptive: a bin of one cell per axis), or GlobalMaxPool. Strided or dilated MaxPool
    runs the evaluator's per-dimension loops instead."""
    if _global_max_node(case):
        return True
    if case.op == "adaptive_max_pool":
        sizes = case.cfg.get("output_size")
        spatial = case.x.shape[-case.d :]
        sizes = sizes if isinstance(sizes, (tuple, list)) else (sizes,) * case.d
        return all((length if n is None else n) == length for n, length in zip(sizes, spatial))
    if case.op != "max_pool" or "kernel_size" not in case.cfg:
        return False
    kernel = _values(case, "kernel_size", 1)
    stride = _values(case, "stride", None)
    stride = kernel if None in stride else stride
    return all(int(s) == 1 for s in stride) and not dilated(case)


def mlas_max_node(case: Case) -> bool:
    """The ONNX node built for a max case runs on ONNX Runtime's vectorized (MLAS) max
    pooling, where which of tied zeros wins depends on the shape (as observed with
    onnxruntime 1.32): float16 / float32 MaxPool with no Indices output and no dilation on
    2-D or 3-D input (adaptive: MaxPool with kernel = strides), or GlobalMaxPool."""
    if case.dtype not in ("float16", "float32"):
        return False
    if _global_max_node(case):
        return True
    if case.op not in ("max_pool", "adaptive_max_pool") or case.return_indices:
        return False
    return case.d in (2, 3) and not dilated(case)


NEW_FACTS.update(
    {
        "ceil_extra_padding_at_begin": ceil_extra_padding_at_begin,
        "same_padding_negative": same_padding_negative,
        "same_lower_strided_uneven": same_lower_strided_uneven,
        "nan_filtering_node": nan_filtering_node,
        "count_include_pad": count_include_pad,
        "np_max_node": np_max_node,
        "mlas_max_node": mlas_max_node,
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
