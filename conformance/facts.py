"""Scope facts: named properties of a drawn case that a known-deviation entry's ``scope``
matches on (``conformance/targets/deviations/*.toml``; see
:mod:`ndpool.conformance.deviations`).

:data:`FACTS` maps a name to a function of the :class:`~ndpool.conformance.cases.Case`.
Cheap facts come first; computed ones (which gather the case's windows) run only when an
entry's scope asks for them. ``property`` is the property being checked (the case
carries it in ``meta``).
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .cases import LARGEST, SMALLEST_NORMAL, Case, is_integer_dtype


def _windows(case: Case):
    from .tolerances import Windows

    return Windows(case)


def _nan_count(case: Case) -> str:
    win = _windows(case)
    n = (np.isnan(win.w) & np.broadcast_to(win.real, win.w.shape)).sum(axis=-1)
    top = int(n.max()) if n.size else 0
    return "2+" if top >= 2 else str(top)


def _empty_window(case: Case) -> bool:
    return bool((_windows(case).n == 0).any())


def _padding_over_half_kernel(case: Case) -> bool:
    """Some padding exceeds kernel // 2 (PyTorch's limit) while within the spec's C6."""
    if case.record.adaptive:
        return False
    from .tolerances import geometry

    g = geometry(case)
    k = case.cfg["kernel_size"]
    ks = list(k) if isinstance(k, (tuple, list)) else [k] * case.d
    for axis, kk in zip(g.axes, ks):
        begin = int(-axis.position[0, 0]) if axis.position.size else 0
        if begin > kk // 2:
            return True
    return False


def _partial_ceil_window(case: Case) -> bool:
    if not case.cfg.get("ceil_mode"):
        return False
    win = _windows(case)
    return bool((~win.in_extent).any())


#: the factors ``alpha`` that the positive_scaling property (``check_scaling`` in
#: conformance/properties.py) multiplies the input by
SCALING_ALPHAS = (2.0, 4.0)


def _lp_power_range(case: Case) -> bool:
    """Some real |x|^p leaves the dtype's normal range (a naive x**p over/underflows, or
    at p = 1 a naive mean of tiny cells, taken before the sum is scaled back, underflows:
    onnx.reference at float16). Under positive_scaling, which evaluates the op at x and at
    alpha * x (the failure names the unscaled case), an overflow of |alpha x|^p for the
    largest alpha counts too (|alpha x|^p only grows with alpha, and x itself is checked
    for underflow). Under the derivative properties, a power rule's p |x|^(p-1) t that
    overflows counts too (t the largest tangent or cotangent drawn,
    ``meta["derivative_scale"]``)."""
    if case.op != "lp_pool":
        return False
    p = np.asarray(case.params[0], dtype=np.float64)
    pb = p.reshape((1, -1) + (1,) * case.d) if p.ndim else p
    x = case.x if case.batched else case.x[None]
    ax = np.abs(x)
    scale = max(SCALING_ALPHAS) if case.meta.get("property") == "positive_scaling" else 1.0
    with np.errstate(all="ignore"):
        xp = np.power(ax, pb)
        n = 1
        k = case.cfg.get("kernel_size")
        for v in k if isinstance(k, (tuple, list)) else [k] * case.d:
            n *= v
        big = np.power(ax * scale, pb) * n > LARGEST[case.dtype]
        # a derivative by the power rule, p |x|^(p-1) times the tangent (or cotangent)
        t = case.meta.get("derivative_scale", 0.0)
        big |= pb * np.power(ax, pb - 1) * t * n > LARGEST[case.dtype]
        small = (ax > 0) & np.isfinite(ax) & (xp < SMALLEST_NORMAL[case.dtype] * 2**10)
    return bool((big | small).any())


def _zero_window(case: Case) -> bool:
    win = _windows(case)
    real = np.broadcast_to(win.real, win.w.shape)
    zero = (np.where(real, np.abs(win.w), 0) == 0).all(axis=-1)
    return bool(zero.any())


def _lp_zero(case: Case) -> bool:
    """Lp: a real cell is 0 or a window's value is 0 (where the spec's derivative is 0)."""
    if case.op != "lp_pool":
        return False
    win = _windows(case)
    real = np.broadcast_to(win.real, win.w.shape)
    if ((win.w == 0) & real).any():
        return True
    with np.errstate(all="ignore"):
        y = np.asarray(case.with_x(case.x, return_indices=False).spec_forward())
    return bool((y == 0).any())


def _lp_uncovered_singular(case: Case) -> bool:
    """Lp: a cell read by no window where x**p has no finite derivative (x = 0 with p < 1,
    x < 0 with a non-integer p)."""
    if case.op != "lp_pool":
        return False
    win = _windows(case)
    reads = win.scatter(np.broadcast_to(win.real, win.w.shape).astype(np.float64)) > 0
    p = np.asarray(case.params[0], dtype=np.float64)
    x = case.x if case.batched else case.x[None]
    reads = reads if case.batched else reads[None]
    pb = p.reshape((1, -1) + (1,) * case.d) if p.ndim else p
    singular = ((x == 0) & (pb < 1)) | ((x < 0) & (pb != np.round(pb)))
    return bool((singular & ~reads).any())


def _shorter_than_kernel(case: Case) -> bool:
    if case.record.adaptive:
        return False
    k = case.cfg["kernel_size"]
    ks = list(k) if isinstance(k, (tuple, list)) else [k] * case.d
    return any(length < kk for length, kk in zip(case.x.shape[-case.d :], ks))


def _nonfinite(case: Case) -> bool:
    return bool((~np.isfinite(case.x)).any())


def _padding_form(case: Case) -> str:
    p = case.cfg.get("padding", 0)
    if isinstance(p, str):
        return p
    if isinstance(p, int):
        return "int"
    return "pairs" if any(isinstance(v, (tuple, list)) for v in p) else "ints"


def _values(case: Case, key: str, default) -> tuple:
    v = case.cfg.get(key, default)
    if v is None:
        v = default
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * case.d


def dilated(case: Case) -> bool:
    """Some axis has dilation > 1."""
    return any(int(v) > 1 for v in _values(case, "dilation", 1))


def strided(case: Case) -> bool:
    """Some axis has a stride > 1 (an unset stride is the kernel size)."""
    key = "kernel_size" if case.cfg.get("stride") is None else "stride"
    return any(int(v) > 1 for v in _values(case, key, 1))


def all_windows_empty(case: Case) -> bool:
    """Every window lies wholly in the padding (the output does not depend on x)."""
    n = _windows(case).n
    return bool(np.size(n)) and bool((np.asarray(n) == 0).all())


def strided_view_flattens(case: Case) -> bool:
    """The ``strided`` layout's view of a batched, unpadded ``x``, moved channels-last
    (``[N, *S, C]``, as MLX's pooling layers take it), flattens to one strided axis without
    a copy (its axes longer than 1 merge, with a step above 1), and some axis takes
    overlapping windows (a stride other than the kernel, or an extent the kernel does not
    divide): where ``mx.as_strided``, handed such a view, raises ("AsStrided must be used
    with row contiguous arrays only.")."""
    if case.layout != "strided" or not case.batched or case.x.size == 0:
        return False
    if case.record.adaptive or "kernel_size" not in case.cfg:
        return False
    pad = case.cfg.get("padding", 0)
    if isinstance(pad, str) or any(int(p) != 0 for p in np.ravel(pad)):
        return False  # a padded input is a new, contiguous array
    kernel = _values(case, "kernel_size", 1)
    stride = _values(case, "stride", None)
    stride = kernel if None in stride else stride
    spatial = case.x.shape[2:]
    if all(k == s and n % k == 0 for n, k, s in zip(spatial, kernel, stride)):
        return False  # the layers' non-overlapping path: a reshape, no as_strided
    shape = case.x.shape
    # the strided layout is a step-2 view of an array twice as long on every spatial axis
    big = list(shape[:2]) + [2 * n for n in spatial]
    steps = [int(np.prod(big[i + 1 :])) for i in range(len(big))]
    steps = steps[:2] + [2 * s for s in steps[2:]]
    order = [0, *range(2, len(shape)), 1]  # channels last
    axes = [(shape[i], steps[i]) for i in order if shape[i] > 1]
    if not axes:
        return False
    for (_, outer), (n_inner, inner) in itertools.pairwise(axes):
        if outer != inner * n_inner:
            return False  # flatten copies: a contiguous array
    return axes[-1][1] != 1


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


def zero_size(case: Case) -> bool:
    """Some entry of ``kernel_size``, ``stride`` or ``dilation`` is the integer 0 (a size
    no window can have, which an implementation may compute with rather than reject)."""
    for key in ("kernel_size", "stride", "dilation"):
        v = case.cfg.get(key)
        for a in v if isinstance(v, (tuple, list)) else (v,):
            if isinstance(a, numbers.Integral) and not isinstance(a, bool) and a == 0:
                return True
    return False


def _output_sizes(case: Case) -> list[int] | None:
    """An adaptive case's output extent per axis (``None`` in ``output_size``: the input's
    extent); ``None`` for a case without ``output_size``."""
    sizes = case.cfg.get("output_size")
    if sizes is None:
        return None
    spatial = case.x.shape[-case.d :]
    sizes = sizes if isinstance(sizes, (tuple, list)) else (sizes,) * case.d
    return [length if n is None else n for n, length in zip(sizes, spatial)]


def output_size_one(case: Case) -> bool:
    """Adaptive pooling to one cell on every axis (ONNX GlobalMaxPool / GlobalAveragePool)."""
    sizes = _output_sizes(case)
    return sizes is not None and all(n == 1 for n in sizes)


def subnormal_input(case: Case) -> bool:
    """The input holds a subnormal number of its dtype (flushed to zero by FTZ/DAZ code)."""
    a = np.abs(case.x)
    return bool(((a > 0) & (a < SMALLEST_NORMAL[case.dtype])).any())


def subnormal_in_or_out(case: Case) -> bool:
    """The input, or the spec's result, holds a subnormal number of the case's dtype."""
    if subnormal_input(case):
        return True
    with np.errstate(all="ignore"):
        y = case.with_x(case.x, return_indices=False).spec_forward()
    a = np.abs(np.asarray(y, dtype=np.float64))
    return bool(((a > 0) & (a < SMALLEST_NORMAL[case.dtype])).any())


def _window_top_is(case: Case, low: float) -> bool:
    """Some window that has real cells has ``low`` as its largest one (NaN cells aside)."""
    from .tolerances import Windows

    win = Windows(case)
    real = np.broadcast_to(win.real, win.w.shape)
    with np.errstate(invalid="ignore"):
        top = np.where(real & ~np.isnan(win.w), win.w, -np.inf).max(axis=-1, initial=-np.inf)
    return bool((real.any(axis=-1) & (top == low)).any())


def neg_inf_window(case: Case) -> bool:
    """Some window's largest real cell is -inf (its max is -inf)."""
    return _window_top_is(case, -np.inf)


def max_tie(case: Case) -> bool:
    """Some window's maximum (NaN aside) is held by two real cells or more (-0.0 and +0.0
    compare equal, -inf cells of an all -inf window tie too)."""
    from .tolerances import Windows

    win = Windows(case)
    real = np.broadcast_to(win.real, win.w.shape) & ~np.isnan(win.w)
    w = np.where(real, win.w, -np.inf)
    top = w.max(axis=-1, initial=-np.inf, keepdims=True)
    return bool(((real & (w == top)).sum(axis=-1) >= 2).any())


def max_near_tie(case: Case) -> bool:
    """Some window holds, besides a cell at its maximum (NaN aside), another real cell within
    1e-5 of it, an exact tie included: where a gradient that tests |x - max| < 1e-5 rather
    than x == max (TensorFlow's MaxPool3DGrad) takes cells for tied maxima."""
    from .tolerances import Windows

    win = Windows(case)
    real = np.broadcast_to(win.real, win.w.shape) & ~np.isnan(win.w)
    w = np.where(real, win.w, -np.inf)
    top = w.max(axis=-1, initial=-np.inf, keepdims=True)
    with np.errstate(invalid="ignore"):
        near = real & ((w == top) | (np.abs(w - top) <= 1e-5))
    return bool((near.sum(axis=-1) >= 2).any())


def pos_inf_max(case: Case) -> bool:
    """Some window's maximum (NaN aside) is +inf."""
    from .tolerances import Windows

    win = Windows(case)
    real = np.broadcast_to(win.real, win.w.shape) & ~np.isnan(win.w)
    return bool((real & (win.w == np.inf)).any())


def _float32_inexact(a) -> bool:
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(all="ignore"):
        b = a.astype(np.float32).astype(np.float64)
    return bool((((a != b) & ~np.isnan(a)) | np.isinf(a)).any())


def beyond_float32(case: Case) -> bool:
    """A float64 case whose input, or the spec's result, holds a value that float32 does not
    represent exactly, or an infinity: what a backend that computes float64 in float32,
    converting with saturation (an infinity becomes the largest finite float32), changes."""
    if case.dtype != "float64":
        return False
    if _float32_inexact(case.x):
        return True
    with np.errstate(all="ignore"):
        y = case.with_x(case.x, return_indices=False).spec_forward()
    return _float32_inexact(y)


def adaptive_output_empty(case: Case) -> bool:
    """Adaptive pooling with an output extent of 0 on some axis: an empty input axis whose
    ``output_size`` is ``None`` (keep the input's extent)."""
    sizes = _output_sizes(case)
    return sizes is not None and case.record.adaptive and any(n == 0 for n in sizes)


def integer_minimum_window(case: Case) -> bool:
    """An integer case where some window's real cells all hold the dtype's minimum (the
    integer analogue of an all -inf window: a running maximum that starts at the minimum
    and moves only on a greater cell never leaves its first index)."""
    if not is_integer_dtype(case.dtype):
        return False
    return _window_top_is(case, float(np.iinfo(np.dtype(case.dtype)).min))


def beyond_int32(case: Case) -> bool:
    """An integer case whose input holds a value int32 does not (uint32 above 2**31 - 1,
    int64 outside int32): what a backend that computes uint32 and int64 in int32 changes."""
    if not is_integer_dtype(case.dtype):
        return False
    x = np.asarray(case.x, dtype=np.float64)
    return bool(((x > 2**31 - 1) | (x < -(2**31))).any())


def integer_beyond_float32(case: Case) -> bool:
    """An integer case whose input holds a value float32 does not represent exactly (beyond
    2**24 in magnitude, not a multiple of its spacing there): what a backend that computes
    integers in float32 changes."""
    if not is_integer_dtype(case.dtype):
        return False
    return _float32_inexact(case.x)


def adaptive_bin_reaches_input(case: Case) -> bool:
    """Adaptive pooling where some axis's largest bin, ceil(L / n), is as long as the input
    (L = 1, or n = 1): where Keras' tensorflow backend, which pools windows of ceil(L / n)
    and ceil(L / n) + 1 cells, pools a window longer than the input."""
    sizes = case.cfg.get("output_size")
    if sizes is None or not case.record.adaptive:
        return False
    spatial = case.x.shape[-case.d :]
    sizes = sizes if isinstance(sizes, (tuple, list)) else (sizes,) * case.d
    for n, length in zip(sizes, spatial):
        n = length if n is None else n
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            continue  # an invalid size (drawn by invalid_config): no bins
        if n >= 1 and -(-int(length) // int(n)) >= length:
            return True
    return False


def window_sum_out_of_range(case: Case) -> bool:
    """Some window's finite cells have magnitudes that add up beyond the dtype's largest
    finite value: a sum accumulated in the dtype can overflow there, though the mean is
    finite (an average of [60000, 60000] in float16)."""
    if case.op not in ("avg_pool", "adaptive_avg_pool"):
        return False
    win = _windows(case)
    with np.errstate(all="ignore"):
        mags = np.where(np.isfinite(win.absw), win.absw, 0.0).sum(axis=-1)
    return bool((mags > LARGEST[case.dtype]).any())


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


def window_outside_input(case: Case) -> bool:
    """Some window reads a position outside the input: padding, or a ceil_mode window that
    runs past the end."""
    return padded(case) or _partial_ceil_window(case)


def padded_after_first_axis(case: Case) -> bool:
    """Some window reaches into padding on a spatial axis after the first (where XLA's
    reduce_window JVP stops taking the first tied maximum)."""
    if case.record.adaptive:
        return False
    from .tolerances import geometry

    return any(bool((a.in_extent & ~a.real).any()) for a in geometry(case).axes[1:])


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


def same_split_uneven(case: Case) -> bool:
    """Padding "same" / "same_lower" whose total on some axis is odd, so the two sides get
    different amounts (where Keras' torch backend pads the input by itself)."""
    return any(max(total, 0) % 2 for _, _, total in _same_totals(case))


def same_padding_negative(case: Case) -> bool:
    """Padding "same" / "same_lower" where ONNX's SAME padding formula
    ``(ceil(L/stride)-1)*stride + eff - L`` is negative on some axis (possible only with a
    stride longer than the effective kernel); the spec clamps it to 0."""
    return any(total < 0 for _, _, total in _same_totals(case))


def same_lower_strided_uneven(case: Case) -> bool:
    """Padding "same_lower" on a max_pool node that runs the ONNX reference evaluator's
    per-axis loops (some stride or dilation > 1, i.e. not :func:`np_max_node`), and some
    axis whose extent is not a multiple of its stride or whose (clamped) total SAME padding
    is odd: where those loops, which size the output floor(L/stride) and put the smaller
    half of the padding first (SAME_UPPER's split), differ from SAME_LOWER."""
    if case.cfg.get("padding") != "same_lower" or case.op != "max_pool":
        return False
    axes = _same_totals(case)
    if not axes or np_max_node(case):
        return False
    return any(length % s or max(total, 0) % 2 for length, s, total in axes)


def nan_filtering_node(case: Case) -> bool:
    """The ONNX node built for the case (conformance/targets/onnx_backends.py) averages with
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
    """The ONNX node built for a max case (conformance/targets/onnx_backends.py) is one the ONNX
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


#: name -> function of the case. Cheap facts first; computed ones run only when an
#: entry's scope asks for them.
FACTS: dict[str, Callable[[Case], Any]] = {
    "dtype": lambda c: c.dtype,
    "d": lambda c: c.d,
    "layout": lambda c: c.layout,
    "batched": lambda c: c.batched,
    "ceil_mode": lambda c: bool(c.cfg.get("ceil_mode", False)),
    "padding_form": _padding_form,
    "regime": lambda c: c.meta.get("regime"),
    "empty_batch": lambda c: c.batched and c.x.shape[0] == 0,
    "nonfinite_input": _nonfinite,
    "nan_count_in_a_window": _nan_count,
    "empty_window": _empty_window,
    "zero_window": _zero_window,
    "lp_zero_in_window": _lp_zero,
    "lp_uncovered_singular_cell": _lp_uncovered_singular,
    "input_shorter_than_kernel": _shorter_than_kernel,
    "padding_over_half_kernel": _padding_over_half_kernel,
    "partial_ceil_window": _partial_ceil_window,
    "lp_power_out_of_range": _lp_power_range,
    "norm_type": lambda c: float(np.asarray(c.params[0]).ravel()[0]) if c.params else None,
    "sign": lambda c: c.cfg.get("sign"),
    "broken_constraint": lambda c: c.meta.get("broken_constraint"),
    "broken_key": lambda c: c.meta.get("broken_key"),
    # the type name of an invalid_config breaker's wrong-type value ("float", "str", "bool",
    # "complex", "int", "NoneType", ...); None where the breaker's value has the right type
    "broken_type": lambda c: c.meta.get("broken_type"),
    "zero_channels": lambda c: c.x.shape[1 if c.batched else 0] == 0,
    "zero_size": zero_size,
    "stride_past_int32": lambda c: any(s >= 2**31 for s in np.ravel(c.cfg.get("stride") or 0)),
    "property": lambda c: c.meta.get("property"),
    # the framework targets' registries
    "dilated": dilated,
    "strided": strided,
    "all_windows_empty": all_windows_empty,
    "strided_view_flattens": strided_view_flattens,
    "integer_minimum_window": integer_minimum_window,
    "adaptive_output_empty": adaptive_output_empty,
    "beyond_int32": beyond_int32,
    "integer_beyond_float32": integer_beyond_float32,
    "nan_input": nan_input,
    "padding_reaches_kernel": padding_reaches_kernel,
    "output_size_one": output_size_one,
    "ceil_extra_padding_at_begin": ceil_extra_padding_at_begin,
    "same_padding_negative": same_padding_negative,
    "same_lower_strided_uneven": same_lower_strided_uneven,
    "nan_filtering_node": nan_filtering_node,
    "count_include_pad": count_include_pad,
    "np_max_node": np_max_node,
    "mlas_max_node": mlas_max_node,
    "padded": padded,
    "padded_after_first_axis": padded_after_first_axis,
    "window_outside_input": window_outside_input,
    "signed_zero_tie": signed_zero_tie,
    "subnormal_input": subnormal_input,
    "subnormal_in_or_out": subnormal_in_or_out,
    "neg_inf_window": neg_inf_window,
    "several_planes": several_planes,
    "return_indices": lambda c: c.return_indices,
    "empty_input": lambda c: c.x.size == 0,
    "max_tie": max_tie,
    "beyond_float32": beyond_float32,
    "pos_inf_max": pos_inf_max,
    "max_near_tie": max_near_tie,
    "adaptive_bin_reaches_input": adaptive_bin_reaches_input,
    "window_sum_out_of_range": window_sum_out_of_range,
    "same_split_uneven": same_split_uneven,
}
