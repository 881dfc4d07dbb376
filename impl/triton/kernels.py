"""Rank-generic Triton kernels for max, average, Lp and smooth max pooling.

Layout: the input is a contiguous ``[N, C, *S]`` tensor, the output ``[N, C, *O]``;
a window op never mixes (n, c) planes, so a flat output number ``f`` is the plane
``f // prod(O)`` and the position ``f % prod(O)`` in it (row-major, last axis fastest).

Geometry: the spatial rank ``D`` is a ``tl.constexpr``; the per-axis numbers come in one
small int64 table ``geom`` of ``NUM_FIELDS`` rows of ``D`` entries (row ``LENGTH`` holds
the input extents, row ``OUT`` the output extents, and so on, see the constants below),
read inside ``tl.static_range(D)`` loops. A window is walked by a runtime loop over its
``K = prod(kernel)`` taps in row-major order; tap ``k`` is split into per-axis tap
numbers by div/mod. All index arithmetic is int64 and divides non-negative numbers
only: whether a tap is real is decided by explicit comparisons (Triton's ``//`` and
``%`` truncate toward zero, so a negative coordinate in the padding must never be
divided).

Windows (see ``geometry.py``): a sliding window ``o`` on an axis reads
``o*stride - pad_begin + j*dilation``; a tap is *real* in ``[0, L)`` and *inside the
padded extent* in ``[-pad_begin, L + pad_end)``. An adaptive bin ``o`` of ``n`` covers
``[floor(o*L/n), ceil((o+1)*L/n))``; its taps past the bin's end are not real.

Forward kernels run one program per ``BLOCK`` of flat outputs. Backward kernels are
deterministic gathers, one program per ``BLOCK`` of flat input cells: a cell walks the
windows that contain it (per axis the candidate outputs, ascending, so the sum runs in
the order of the output positions, as the spec's scatter adds) and sums their
contributions; no atomics.

Arithmetic runs in ``CDT`` (float32 for 16- and 32-bit inputs, float64 for float64) and
is rounded once to the output dtype on store.
"""

from __future__ import annotations

import triton
import triton.language as tl

# rows of the geometry table (each row holds D int64 entries, one per spatial axis)
LENGTH = tl.constexpr(0)  # input extent L
OUT = tl.constexpr(1)  # output extent (number of bins for adaptive pooling)
KERNEL = tl.constexpr(2)  # taps per window (largest bin for adaptive pooling)
STRIDE = tl.constexpr(3)
DILATION = tl.constexpr(4)
PAD_BEGIN = tl.constexpr(5)
PAD_END = tl.constexpr(6)
IN_PITCH = tl.constexpr(7)  # prod(L[a+1:]): row-major pitch of the input plane
OUT_PITCH = tl.constexpr(8)  # prod(O[a+1:])
TAP_PITCH = tl.constexpr(9)  # prod(KERNEL[a+1:])
CAND = tl.constexpr(10)  # most windows containing one input cell on the axis
CAND_PITCH = tl.constexpr(11)  # prod(CAND[a+1:])
NUM_FIELDS = 12
#: the scale of the fallback sum of ``avg_forward_kernel`` (a power of two): no
#: sum of fewer than ``1 / SUM_DOWN`` finite cells overflows after scaling by it
SUM_DOWN = tl.constexpr(2.0**-40)
SUM_UP = tl.constexpr(2.0**40)
#: the spec's ``LARGE_P``: past it the spec scales a window by its largest ``|t|`` itself
SPEC_LARGE_P = tl.constexpr(969.0)
#: the same bound for float32 arithmetic: past it ``(1/2)^p`` leaves float32's normal range
#: (2^-126, less the 24 bits of a significand)
FLOAT32_LARGE_P = tl.constexpr(102.0)


# -- indexing -----------------------------------------------------------------------------
@triton.jit
def _block(BLOCK: tl.constexpr):
    """The int64 flat numbers this program works on."""
    return tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK).to(tl.int64)


@triton.jit
def _window_tap(o, k, geom_ptr, D: tl.constexpr, ADAPTIVE: tl.constexpr):
    """Tap ``k`` (row-major) of the windows at plane positions ``o``:
    ``(cell, real, inside)`` -- the flat plane index of the tap (meaningful where it is
    real), whether it is real, and whether it lies inside the padded extent."""
    cell = tl.full(o.shape, 0, tl.int64)
    real = o >= 0
    inside = o >= 0
    for a in tl.static_range(D):
        length = tl.load(geom_ptr + LENGTH * D + a)
        n_out = tl.load(geom_ptr + OUT * D + a)
        oa = (o // tl.load(geom_ptr + OUT_PITCH * D + a)) % n_out
        ja = (k // tl.load(geom_ptr + TAP_PITCH * D + a)) % tl.load(geom_ptr + KERNEL * D + a)
        if ADAPTIVE:
            start = (oa * length) // n_out
            end = ((oa + 1) * length + n_out - 1) // n_out
            pos = start + ja
            real = real & (pos < end)
            inside = real
        else:
            pad_begin = tl.load(geom_ptr + PAD_BEGIN * D + a)
            pos = oa * tl.load(geom_ptr + STRIDE * D + a) - pad_begin
            pos = pos + ja * tl.load(geom_ptr + DILATION * D + a)
            real = real & (pos >= 0) & (pos < length)
            inside = inside & (pos >= -pad_begin)
            inside = inside & (pos < length + tl.load(geom_ptr + PAD_END * D + a))
        cell = cell + pos * tl.load(geom_ptr + IN_PITCH * D + a)
    return cell, real, inside


@triton.jit
def _window_load(x_ptr, base, o, k, mask, geom_ptr, D: tl.constexpr, ADAPTIVE: tl.constexpr, CDT):
    """Tap ``k`` of the windows at ``o`` in the plane starting at ``base``:
    ``(value, cell, real, inside)``, the value in ``CDT`` and 0 where the tap is not real
    (a padded cell is absent or zero by the caller's choice, never read)."""
    cell, real, inside = _window_tap(o, k, geom_ptr, D, ADAPTIVE)
    real = real & mask
    inside = inside & mask
    v = tl.load(x_ptr + base + cell, mask=real, other=0.0).to(CDT)
    return v, cell, real, inside


@triton.jit
def _taps_between(start, lo, hi, kern, dil):
    """How many ``j`` in ``[0, kern)`` put ``start + j*dil`` in ``[lo, hi)`` (closed form;
    only non-negative numbers are divided)."""
    below = lo - start
    first = tl.where(below > 0, (tl.maximum(below, 0) + dil - 1) // dil, 0)
    above = hi - start
    last = tl.where(above > 0, tl.minimum((tl.maximum(above, 0) + dil - 1) // dil, kern), 0)
    return tl.maximum(last - first, 0)


@triton.jit
def _window_counts(o, geom_ptr, D: tl.constexpr, ADAPTIVE: tl.constexpr):
    """``(n_real, n_inside)``: the real cells and the cells inside the padded extent of
    the windows at ``o`` (products of per-axis counts, no tap loop)."""
    n_real = tl.full(o.shape, 1, tl.int64)
    n_inside = tl.full(o.shape, 1, tl.int64)
    for a in tl.static_range(D):
        length = tl.load(geom_ptr + LENGTH * D + a)
        n_out = tl.load(geom_ptr + OUT * D + a)
        oa = (o // tl.load(geom_ptr + OUT_PITCH * D + a)) % n_out
        if ADAPTIVE:
            size = ((oa + 1) * length + n_out - 1) // n_out - (oa * length) // n_out
            n_real = n_real * size
            n_inside = n_inside * size
        else:
            kern = tl.load(geom_ptr + KERNEL * D + a)
            dil = tl.load(geom_ptr + DILATION * D + a)
            pad_begin = tl.load(geom_ptr + PAD_BEGIN * D + a)
            start = oa * tl.load(geom_ptr + STRIDE * D + a) - pad_begin
            n_real = n_real * _taps_between(start, 0, length, kern, dil)
            hi = length + tl.load(geom_ptr + PAD_END * D + a)
            n_inside = n_inside * _taps_between(start, -pad_begin, hi, kern, dil)
    return n_real, n_inside


@triton.jit
def _candidate(i, r, geom_ptr, D: tl.constexpr, ADAPTIVE: tl.constexpr):
    """Candidate ``r`` (row-major over the per-axis candidates) among the windows that
    contain the input cells ``i``: ``(o, valid)``. Per axis the candidates ascend, so
    ``r = 0, 1, ...`` visits the windows in ascending output order.

    Sliding: the cell is tap ``j`` of window ``o = (i + pad_begin - j*dilation) / stride``
    when that divides exactly and ``0 <= o < out``; candidate ``r`` is tap
    ``j = kernel - 1 - r``. Adaptive: the bins containing ``i`` are ``floor(i*n/L)`` on,
    while ``floor(o*L/n) <= i``."""
    o = tl.full(i.shape, 0, tl.int64)
    valid = i >= 0
    for a in tl.static_range(D):
        length = tl.load(geom_ptr + LENGTH * D + a)
        n_out = tl.load(geom_ptr + OUT * D + a)
        ia = (i // tl.load(geom_ptr + IN_PITCH * D + a)) % length
        ra = (r // tl.load(geom_ptr + CAND_PITCH * D + a)) % tl.load(geom_ptr + CAND * D + a)
        if ADAPTIVE:
            oa = (ia * n_out) // length + ra
            valid = valid & (oa < n_out) & ((oa * length) // n_out <= ia)
        else:
            stride = tl.load(geom_ptr + STRIDE * D + a)
            ja = tl.load(geom_ptr + KERNEL * D + a) - 1 - ra
            num = (
                ia
                + tl.load(geom_ptr + PAD_BEGIN * D + a)
                - ja * tl.load(geom_ptr + DILATION * D + a)
            )
            num_ok = tl.maximum(num, 0)  # a negative numerator is never divided
            oa = num_ok // stride
            valid = valid & (num >= 0) & (num_ok % stride == 0) & (oa < n_out)
        o = o + oa * tl.load(geom_ptr + OUT_PITCH * D + a)
    return o, valid


# -- selection: the winner rule of spec/selection.py -----------------------------------------
@triton.jit
def _window_argmax(
    x_ptr,
    base,
    o,
    mask,
    geom_ptr,
    K,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    ABS: tl.constexpr,
    INSIDE: tl.constexpr,
    CDT,
):
    """The winner of the windows at ``o``: ``(value, cell, has_nan)``.

    Taking part are the real cells (``INSIDE``: every cell inside the padded extent,
    padded ones as 0); values are ``|x|`` with ``ABS``. The winner is the first NaN in
    row-major window order, else the first maximizer (a strict ``>`` while scanning, so
    ties and ``-0.0 == +0.0`` keep the first, and a window of ``-inf`` cells selects its
    first cell). A window with no cell taking part gives ``(-inf, -1, False)``; ``cell`` is
    the winner's flat plane index (-1 for a padded winner under ``INSIDE``)."""
    best = tl.full(o.shape, float("-inf"), CDT)
    best_cell = tl.full(o.shape, -1, tl.int64)
    found = o < 0
    has_nan = o < 0
    for k in range(K):
        v, cell, real, inside = _window_load(x_ptr, base, o, k, mask, geom_ptr, D, ADAPTIVE, CDT)
        if ABS:
            v = tl.abs(v)
        if INSIDE:
            part = inside
        else:
            part = real
        nan = v != v
        take = part & (has_nan == 0) & (nan | (found == 0) | (v > best))
        best = tl.where(take, v, best)
        best_cell = tl.where(take, tl.where(real, cell, -1), best_cell)
        found = found | part
        has_nan = has_nan | (part & nan)
    return best, best_cell, has_nan


@triton.jit
def max_forward_kernel(
    x_ptr,
    y_ptr,
    index_ptr,
    geom_ptr,
    total,
    plane_in,
    plane_out,
    K,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    CDT: tl.constexpr,
    BLOCK: tl.constexpr,
    STORE_INDEX: tl.constexpr = True,
):
    """Max pooling: ``y`` = the winner's value (-inf for a window with no real cell) and,
    with ``STORE_INDEX``, ``index`` = its flat index in the ``[*S]`` plane (-1 for no real
    cell); without it (values only: no derivative to take) ``index_ptr`` is not touched,
    which saves the int64 store, 8 bytes per output."""
    offs = _block(BLOCK)
    mask = offs < total
    nc = offs // plane_out
    o = offs % plane_out
    best, cell, _ = _window_argmax(
        x_ptr, nc * plane_in, o, mask, geom_ptr, K, D, ADAPTIVE, False, False, CDT
    )
    tl.store(y_ptr + offs, best.to(y_ptr.dtype.element_ty), mask=mask)
    if STORE_INDEX:
        tl.store(index_ptr + offs, cell, mask=mask)


@triton.jit
def max_backward_kernel(
    grad_y_ptr,
    index_ptr,
    grad_x_ptr,
    geom_ptr,
    total,
    plane_in,
    plane_out,
    R,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    CDT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Max pooling VJP by gather: input cell ``i`` sums ``grad_y[o]`` over the windows
    ``o`` that contain it and whose saved index is ``i``."""
    offs = _block(BLOCK)
    mask = offs < total
    nc = offs // plane_in
    i = offs % plane_in
    acc = tl.full(offs.shape, 0.0, CDT)
    for r in range(R):
        o, valid = _candidate(i, r, geom_ptr, D, ADAPTIVE)
        use = mask & valid
        out = nc * plane_out + o
        hit = use & (tl.load(index_ptr + out, mask=use, other=-1) == i)
        acc += tl.load(grad_y_ptr + out, mask=hit, other=0.0).to(CDT)
    tl.store(grad_x_ptr + offs, acc.to(grad_x_ptr.dtype.element_ty), mask=mask)


@triton.jit
def take_kernel(src_ptr, index_ptr, out_ptr, total, plane_in, plane_out, BLOCK: tl.constexpr):
    """``out[f] = src[plane(f), index[f]]`` (0 where ``index`` is -1): the max-pool JVP,
    the tangent of the selected cell."""
    offs = _block(BLOCK)
    mask = offs < total
    index = tl.load(index_ptr + offs, mask=mask, other=-1)
    use = mask & (index >= 0)
    src = (offs // plane_out) * plane_in + tl.maximum(index, 0)
    v = tl.load(src_ptr + src, mask=use, other=0.0)
    tl.store(out_ptr + offs, v.to(out_ptr.dtype.element_ty), mask=mask)


# -- average ----------------------------------------------------------------------------------
@triton.jit
def _avg_divisor(
    o,
    geom_ptr,
    divisor,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    OVERRIDE: tl.constexpr,
    COUNT_PAD: tl.constexpr,
    CDT,
):
    """The divisor of the windows at ``o``: ``divisor`` with ``OVERRIDE``, else the cells
    inside the padded extent (``COUNT_PAD``) or the real cells (adaptive: the bin size)."""
    n_real, n_inside = _window_counts(o, geom_ptr, D, ADAPTIVE)
    if OVERRIDE:
        div = tl.full(o.shape, divisor, CDT)
    elif COUNT_PAD:
        div = n_inside.to(CDT)
    else:
        div = n_real.to(CDT)
    return div


@triton.jit
def avg_forward_kernel(
    x_ptr,
    y_ptr,
    geom_ptr,
    divisor,
    total,
    plane_in,
    plane_out,
    K,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    OVERRIDE: tl.constexpr,
    COUNT_PAD: tl.constexpr,
    EMPTY_ZERO: tl.constexpr,
    CDT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Average pooling: the sum of the real cells over the divisor; a zero divisor gives
    NaN, or 0 with ``EMPTY_ZERO`` (the JVP of an empty window).

    A sum of finite cells can overflow where their average does not (cells near the
    dtype's largest value): such a window takes its sum of the cells scaled by
    ``SUM_DOWN`` (exact for all but tiny cells, which are negligible next to the sum) and
    scales the average back."""
    offs = _block(BLOCK)
    mask = offs < total
    base = (offs // plane_out) * plane_in
    o = offs % plane_out
    acc = tl.full(offs.shape, 0.0, CDT)
    acc_scaled = tl.full(offs.shape, 0.0, CDT)
    finite_cells = offs >= 0  # all True
    for k in range(K):
        v, _, _, _ = _window_load(x_ptr, base, o, k, mask, geom_ptr, D, ADAPTIVE, CDT)
        acc += v
        acc_scaled += v * SUM_DOWN
        finite_cells = finite_cells & (v - v == 0)  # v - v is NaN for +-inf and NaN
    div = _avg_divisor(o, geom_ptr, divisor, D, ADAPTIVE, OVERRIDE, COUNT_PAD, CDT)
    if EMPTY_ZERO:
        empty = 0.0
    else:
        empty = float("nan")
    safe_div = tl.where(div != 0, div, 1.0)
    y = _div(acc, safe_div, CDT)
    overflow = finite_cells & (acc - acc != 0)
    y = tl.where(overflow, _div(acc_scaled, safe_div, CDT) * SUM_UP, y)
    y = tl.where(div != 0, y, empty)
    tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def avg_backward_kernel(
    grad_y_ptr,
    grad_x_ptr,
    geom_ptr,
    divisor,
    total,
    plane_in,
    plane_out,
    R,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    OVERRIDE: tl.constexpr,
    COUNT_PAD: tl.constexpr,
    CDT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Average pooling VJP by gather: input cell ``i`` sums ``grad_y[o] * (1/divisor[o])``
    over the windows ``o`` that contain it."""
    offs = _block(BLOCK)
    mask = offs < total
    nc = offs // plane_in
    i = offs % plane_in
    acc = tl.full(offs.shape, 0.0, CDT)
    for r in range(R):
        o, valid = _candidate(i, r, geom_ptr, D, ADAPTIVE)
        use = mask & valid
        g = tl.load(grad_y_ptr + nc * plane_out + o, mask=use, other=0.0).to(CDT)
        div = _avg_divisor(o, geom_ptr, divisor, D, ADAPTIVE, OVERRIDE, COUNT_PAD, CDT)
        weight = tl.where(div != 0, _div(1.0, tl.where(div != 0, div, 1.0), CDT), 0.0)
        acc += tl.where(use, g * weight, 0.0)
    tl.store(grad_x_ptr + offs, acc.to(grad_x_ptr.dtype.element_ty), mask=mask)


# -- IEEE helpers -------------------------------------------------------------------------
@triton.jit
def _div(a, b, CDT: tl.constexpr):
    """``a / b`` correctly rounded (float32 ``/`` is an approximate division on GPUs)."""
    if CDT == tl.float64:
        return a / b
    else:
        return tl.math.div_rn(a, b)


@triton.jit
def _pow2(k, CDT: tl.constexpr):
    """``2**k`` exactly, for integer ``k`` from the smallest subnormal exponent to the
    largest finite one of ``CDT`` (built from its bits)."""
    if CDT == tl.float64:
        normal = (k + 1023) << 52
        sub = tl.full(k.shape, 1, tl.int64) << tl.minimum(tl.maximum(k + 1074, 0), 51)
        bits = tl.where(k >= -1022, normal, sub)
        return bits.to(tl.float64, bitcast=True)
    else:
        k32 = k.to(tl.int32)
        normal = (k32 + 127) << 23
        sub = tl.full(k.shape, 1, tl.int32) << tl.minimum(tl.maximum(k32 + 149, 0), 22)
        bits = tl.where(k32 >= -126, normal, sub)
        return bits.to(tl.float32, bitcast=True)


@triton.jit
def _ldexp(v, k, CDT: tl.constexpr):
    """``v * 2**k`` with one rounding: an upward scale in two exact halves (so neither
    factor overflows), a downward one in a single (possibly subnormal) factor."""
    half = tl.where(k > 0, tl.maximum(k, 0) // 2, 0)
    return v * _pow2(half, CDT) * _pow2(k - half, CDT)


@triton.jit
def _pow2_ceiling_exponent(m, CDT: tl.constexpr):
    """``e`` with ``m < 2**e <= 2m`` for finite ``m > 0`` (``frexp``'s exponent), capped at
    1023 for float64 as the spec caps its scale; subnormal ``m`` are scaled up first."""
    if CDT == tl.float64:
        small = m < 2.2250738585072014e-308
        bits = tl.where(small, m * 18446744073709551616.0, m).to(tl.int64, bitcast=True)
        e = ((bits >> 52) & 0x7FF) - 1022 - tl.where(small, 64, 0)
        return tl.minimum(e, 1023)
    else:
        small = m < 1.1754943508222875e-38
        bits = tl.where(small, m * 4294967296.0, m).to(tl.int32, bitcast=True)
        e = ((bits >> 23) & 0xFF) - 126 - tl.where(small, 32, 0)
        return e.to(tl.int64)


@triton.jit
def _ieee_pow(a, e, CDT: tl.constexpr):
    """IEEE 754 ``pow(a, e)`` as the spec's ``numeric.power``: a finite negative base
    with a non-integer exponent is NaN; ``pow(-inf, e)`` and ``pow(-0, e)`` follow the
    odd-integer rule; ``pow(x, 0) = 1``. The magnitude is ``exp2(e*log2|a|)``, correctly
    rounded for ``e`` in {0, 0.5, 1, 2} (one, square root, identity, square)."""
    mag_a = tl.abs(a)
    mag = tl.exp2(e * tl.log2(mag_a))
    mag = tl.where(e == 2.0, mag_a * mag_a, mag)
    mag = tl.where(e == 1.0, mag_a, mag)
    if CDT == tl.float64:
        root = tl.sqrt(mag_a)  # correctly rounded in float64
    else:
        root = tl.sqrt_rn(mag_a)
    mag = tl.where(e == 0.5, root, mag)
    mag = tl.where(e == 0.0, 1.0, mag)
    integral = e == tl.floor(e)
    odd = integral & (e * 0.5 != tl.floor(e * 0.5))
    negative = (a < 0) | ((a == 0) & (1.0 / a < 0))  # including -0.0 and -inf
    out = tl.where(negative & odd, -mag, mag)
    return tl.where((a < 0) & (a > float("-inf")) & (integral == 0), float("nan"), out)


@triton.jit
def _sign(v):
    """``sign(v)``: -1, 0 or 1, NaN for NaN."""
    s = tl.where(v > 0, 1.0, tl.where(v < 0, -1.0, 0.0))
    return tl.where(v != v, v, s)


@triton.jit
def _nan_or_zero(y):
    """NaN where ``y`` is NaN, else 0: a derivative where the value is not finite."""
    return tl.where(y != y, y, 0.0)


# -- Lp ---------------------------------------------------------------------------------------
@triton.jit
def _lp_params(p_ptr, c, CDT: tl.constexpr):
    """Channel ``c``'s ``p`` (a float64 table): ``(p, 1/p, p-1, p_one, p_inf, p_integral,
    p64)`` with ``p = inf`` replaced by 2 in the numbers (its value and partials are
    max-like); classified and inverted in float64, then rounded to ``CDT`` (``p64`` is
    the float64 value)."""
    p64 = tl.load(p_ptr + c)
    p_inf = p64 == float("inf")
    p64 = tl.where(p_inf, 2.0, p64)
    p_one = p64 == 1.0
    p_integral = p64 == tl.floor(p64)
    return p64.to(CDT), (1.0 / p64).to(CDT), (p64 - 1.0).to(CDT), p_one, p_inf, p_integral, p64


@triton.jit
def _lp_rho(o, geom_ptr, K, D: tl.constexpr, ADAPTIVE: tl.constexpr, RESCALED: tl.constexpr, CDT):
    """The factor of the power sum: ``K / n_inside`` for ``partial_window="rescaled"``,
    else 1."""
    if RESCALED:
        _, n_inside = _window_counts(o, geom_ptr, D, ADAPTIVE)
        rho = _div(tl.full(o.shape, K, CDT), n_inside.to(CDT), CDT)
    else:
        rho = tl.full(o.shape, 1.0, CDT)
    return rho


@triton.jit
def _lp_window(
    x_ptr,
    base,
    o,
    mask,
    p,
    inv_p,
    p_inf,
    p_integral,
    p64,
    rho,
    geom_ptr,
    K,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    SIGNED: tl.constexpr,
    CDT: tl.constexpr,
):
    """Lp over the windows at ``o``: ``(y, e, norm, winner, dp)``.

    The scale ``M`` is ``2**e``, the power of two above the window's ``max |x|`` (the
    spec's), or, past the p where a power of the largest scaled cell could leave the
    normal range of ``CDT`` (the spec's ``LARGE_P`` in float64, ``FLOAT32_LARGE_P`` in
    float32), ``max |x|`` itself, ``2**e f`` with ``f`` in (1/2, 1]. The power sum is
    ``(rho * sum (t/M)^p)^(1/p)``; ``norm`` is that times ``f``, so ``y = 2**e norm``
    (``norm`` 0 where the window is zero: ``M = 0`` or a zero sum). A window holding an
    infinite cell and no NaN is evaluated unscaled (IEEE), its ``norm`` set to +inf (the
    mark its partials read); one holding a NaN is NaN. ``p = inf``: ``y = |x|`` at the
    max-pool winner of ``|x|`` (``winner``, -1 for a window with no real cell, whose value
    is 0). ``dp`` is ``dy/dp``, formed in scaled units (finite where only ``y``
    overflows), with the spec's rules: 0 for zero and infinite windows, NaN for NaN ones
    and (``SIGNED``) for windows with a negative cell, however small; for ``p = inf`` NaN
    where a NaN is present, else 0."""
    top, winner, has_nan = _window_argmax(
        x_ptr, base, o, mask, geom_ptr, K, D, ADAPTIVE, True, False, CDT
    )
    m = tl.where(has_nan, float("nan"), tl.where(winner < 0, 0.0, top))
    finite_m = (m > 0) & (m < float("inf"))
    e = _pow2_ceiling_exponent(tl.where(finite_m, m, 1.0), CDT)
    # the scale's significand: 1 (M = 2**e), or m / 2**e (M = m) for a large p
    m_scaled = _ldexp(tl.where(finite_m, m, 1.0), -e, CDT)
    if CDT == tl.float64:
        large = p64 > SPEC_LARGE_P
    else:
        large = p64 > FLOAT32_LARGE_P
    f = tl.where(large & finite_m, m_scaled, 1.0)
    total = tl.full(o.shape, 0.0, CDT)
    total_log = tl.full(o.shape, 0.0, CDT)
    plain = tl.full(o.shape, 0.0, CDT)
    negative_power = o < 0  # all False
    for k in range(K):
        v, _, real, _ = _window_load(x_ptr, base, o, k, mask, geom_ptr, D, ADAPTIVE, CDT)
        if SIGNED:
            t = v
        else:
            t = tl.abs(v)
        r = _div(_ldexp(t, -e, CDT), f, CDT)  # t / M (exact where f = 1)
        # a negative t under a non-integer p is NaN however small (t/M may underflow to -0)
        bad = (t < 0) & (p_integral == 0)
        rp = tl.where(bad, float("nan"), _ieee_pow(r, p, CDT))
        rp = tl.where(real, rp, 0.0)
        total += rp
        total_log += tl.where(rp == 0, 0.0, rp * tl.log(r))  # 0 log 0 = 0
        # next to an infinite cell a finite one adds nothing (or its NaN)
        tp = tl.where(
            tl.abs(t) == float("inf"), _ieee_pow(t, p, CDT), tl.where(bad, float("nan"), 0.0)
        )
        plain += tl.where(real, tp, 0.0)
        if SIGNED:
            # t^p log t is NaN at a negative cell however small (its power may underflow)
            negative_power = negative_power | (real & (t < 0))
    norm = f * _ieee_pow(rho * total, inv_p, CDT)
    y = tl.where(m == 0, 0.0, _ldexp(norm, e, CDT))
    y = tl.where(m == float("inf"), _ieee_pow(rho * plain, inv_p, CDT), y)
    zero = (m == 0) | (total == 0)
    safe_total = tl.where(total == 0, 1.0, total)
    spread = _div(total_log, safe_total, CDT) - _div(tl.log(rho * safe_total), p, CDT)
    dp = _ldexp(_div(norm, p, CDT) * spread, e, CDT)
    dp = tl.where(negative_power, float("nan"), dp)
    dp = tl.where(zero | (m == float("inf")), 0.0, dp)
    dp = tl.where(y != y, float("nan"), dp)
    dp = tl.where(p_inf, tl.where(has_nan, float("nan"), 0.0), dp)
    y = tl.where(p_inf, tl.where(winner < 0, 0.0, top), y)
    norm = tl.where(m == float("inf"), float("inf"), tl.where(zero, 0.0, norm))
    return y, e, norm, winner, dp


@triton.jit
def _lp_cell_partial(
    v,
    is_winner,
    y,
    e,
    norm,
    rho,
    p_minus_1,
    p_one,
    p_inf,
    SIGNED: tl.constexpr,
    CDT: tl.constexpr,
):
    """``dy/dx`` at a real cell ``v`` of a window with value ``y = 2**e norm`` (``norm`` 0
    for a zero window, infinite for a window holding an infinite cell):
    ``rho * s * (t / y)^(p-1)``, the ratio formed as ``(t / 2**e) / norm``, with the spec's
    rules in order of precedence: zero cell or zero window 0; ``p = 1`` ``rho * s``;
    infinite window 0; NaN window NaN at non-zero cells; ``p = inf`` ``sign(x)`` at the
    winner."""
    if SIGNED:
        t = v
        s = rho
    else:
        t = tl.abs(v)
        s = _sign(v) * rho
    live = (v != 0) & (norm != 0)
    ratio = tl.where(live, _div(_ldexp(t, -e, CDT), tl.where(norm == 0, 1.0, norm), CDT), 0.0)
    dw = tl.where(live, s * _ieee_pow(ratio, p_minus_1, CDT), 0.0)
    dw = tl.where(p_one, s, dw)
    dw = tl.where(tl.abs(norm) == float("inf"), 0.0, dw)  # a window holding +-inf
    dw = tl.where((y != y) & (v != 0), float("nan"), dw)
    return tl.where(p_inf, tl.where(is_winner, _sign(v), 0.0), dw)


@triton.jit
def lp_window_kernel(
    x_ptr,
    p_ptr,
    x_dot_ptr,
    p_dot_ptr,
    grad_y_ptr,
    y_ptr,
    y_dot_ptr,
    y_stat_ptr,
    e_ptr,
    norm_ptr,
    winner_ptr,
    grad_p_ptr,
    geom_ptr,
    total,
    plane_in,
    plane_out,
    channels,
    K,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    SIGNED: tl.constexpr,
    RESCALED: tl.constexpr,
    WITH_JVP: tl.constexpr,
    WITH_STATS: tl.constexpr,
    CDT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Lp pooling per output: ``y``; with ``WITH_JVP`` also
    ``y_dot = sum_i dy/dx_i x_dot_i + dy/dp p_dot`` (the p term skipped where
    ``p_dot = 0``); with ``WITH_STATS`` the window numbers the backward gather needs
    (``y``, ``e``, ``norm``, ``winner`` in ``CDT``/int) and the per-output p cotangent
    ``dy/dp * grad_y`` (0 where ``grad_y = 0``)."""
    offs = _block(BLOCK)
    mask = offs < total
    nc = offs // plane_out
    o = offs % plane_out
    base = nc * plane_in
    p, inv_p, p_minus_1, p_one, p_inf, p_integral, p64 = _lp_params(p_ptr, nc % channels, CDT)
    rho = _lp_rho(o, geom_ptr, K, D, ADAPTIVE, RESCALED, CDT)
    y, e, norm, winner, dp = _lp_window(
        x_ptr,
        base,
        o,
        mask,
        p,
        inv_p,
        p_inf,
        p_integral,
        p64,
        rho,
        geom_ptr,
        K,
        D,
        ADAPTIVE,
        SIGNED,
        CDT,
    )
    tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)
    if WITH_JVP:
        acc = tl.full(offs.shape, 0.0, CDT)
        for k in range(K):
            v, cell, real, _ = _window_load(x_ptr, base, o, k, mask, geom_ptr, D, ADAPTIVE, CDT)
            v_dot = tl.load(x_dot_ptr + base + cell, mask=real, other=0.0).to(CDT)
            dw = _lp_cell_partial(
                v, cell == winner, y, e, norm, rho, p_minus_1, p_one, p_inf, SIGNED, CDT
            )
            acc += tl.where(real, dw * v_dot, 0.0)
        p_dot = tl.load(p_dot_ptr + nc % channels).to(CDT)
        acc += tl.where(p_dot == 0, 0.0, dp * p_dot)
        tl.store(y_dot_ptr + offs, acc.to(y_dot_ptr.dtype.element_ty), mask=mask)
    if WITH_STATS:
        tl.store(y_stat_ptr + offs, y, mask=mask)
        tl.store(e_ptr + offs, e, mask=mask)
        tl.store(norm_ptr + offs, norm, mask=mask)
        tl.store(winner_ptr + offs, winner, mask=mask)
        g = tl.load(grad_y_ptr + offs, mask=mask, other=0.0).to(CDT)
        tl.store(grad_p_ptr + offs, tl.where(g == 0, 0.0, dp * g), mask=mask)


@triton.jit
def lp_backward_kernel(
    x_ptr,
    p_ptr,
    grad_y_ptr,
    y_stat_ptr,
    e_ptr,
    norm_ptr,
    winner_ptr,
    grad_x_ptr,
    geom_ptr,
    total,
    plane_in,
    plane_out,
    channels,
    K,
    R,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    SIGNED: tl.constexpr,
    RESCALED: tl.constexpr,
    CDT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Lp pooling VJP by gather: input cell ``i`` sums ``dy_o/dx_i * grad_y[o]`` over the
    windows ``o`` that contain it, from the window numbers of ``lp_window_kernel``."""
    offs = _block(BLOCK)
    mask = offs < total
    nc = offs // plane_in
    i = offs % plane_in
    v = tl.load(x_ptr + offs, mask=mask, other=0.0).to(CDT)
    _, _, p_minus_1, p_one, p_inf, _, _ = _lp_params(p_ptr, nc % channels, CDT)
    acc = tl.full(offs.shape, 0.0, CDT)
    for r in range(R):
        o, valid = _candidate(i, r, geom_ptr, D, ADAPTIVE)
        use = mask & valid
        out = nc * plane_out + o
        y = tl.load(y_stat_ptr + out, mask=use, other=0.0)
        e = tl.load(e_ptr + out, mask=use, other=0)
        norm = tl.load(norm_ptr + out, mask=use, other=0.0)
        winner = tl.load(winner_ptr + out, mask=use, other=-1)
        g = tl.load(grad_y_ptr + out, mask=use, other=0.0).to(CDT)
        rho = _lp_rho(o, geom_ptr, K, D, ADAPTIVE, RESCALED, CDT)
        dw = _lp_cell_partial(v, winner == i, y, e, norm, rho, p_minus_1, p_one, p_inf, SIGNED, CDT)
        acc += tl.where(use, dw * g, 0.0)
    tl.store(grad_x_ptr + offs, acc.to(grad_x_ptr.dtype.element_ty), mask=mask)


# -- smooth max -------------------------------------------------------------------------------
@triton.jit
def _smooth_window(
    x_ptr,
    base,
    o,
    mask,
    beta,
    geom_ptr,
    K,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    ZERO_PAD: tl.constexpr,
    CDT: tl.constexpr,
):
    """``(y, shift, lse)``: ``y = m + log(sum_i exp(beta (x_i - m))) / beta`` over the
    cells taking part (the real ones; with ``ZERO_PAD`` every cell inside the padded
    extent, padded ones as 0), ``m`` their max (``shift`` 0 where ``m`` is not finite) and
    ``lse = y - shift``, kept apart: near the dtype's largest value ``y`` rounds ``lse``
    away. NaN propagates, +inf gives +inf, a window with no cell taking part (or only
    -inf ones) gives -inf."""
    top, _, has_nan = _window_argmax(
        x_ptr, base, o, mask, geom_ptr, K, D, ADAPTIVE, False, ZERO_PAD, CDT
    )
    shift = tl.where(has_nan | (tl.abs(top) == float("inf")), 0.0, top)
    total = tl.full(o.shape, 0.0, CDT)
    for k in range(K):
        v, _, real, inside = _window_load(x_ptr, base, o, k, mask, geom_ptr, D, ADAPTIVE, CDT)
        if ZERO_PAD:
            part = inside
        else:
            part = real
        total += tl.where(part, tl.exp(beta * (v - shift)), 0.0)
    lse = _div(tl.log(total), beta, CDT)
    return shift + lse, shift, lse


@triton.jit
def _smooth_cell_partial(v, y, shift, lse, beta):
    """The softmax weight ``exp(beta (x - y))`` of a cell taking part, formed as
    ``exp(beta (x - shift) - beta lse)``: ``dy/dx`` at a real cell (0 where ``y`` is
    infinite, NaN where it is NaN)."""
    finite = tl.abs(y) < float("inf")
    d = v - tl.where(finite, shift, 0.0)
    return tl.where(finite, tl.exp(beta * d - beta * tl.where(finite, lse, 0.0)), _nan_or_zero(y))


@triton.jit
def smooth_max_window_kernel(
    x_ptr,
    beta_ptr,
    x_dot_ptr,
    beta_dot_ptr,
    grad_y_ptr,
    y_ptr,
    y_dot_ptr,
    shift_stat_ptr,
    lse_stat_ptr,
    grad_beta_ptr,
    geom_ptr,
    total,
    plane_in,
    plane_out,
    channels,
    K,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    ZERO_PAD: tl.constexpr,
    WITH_JVP: tl.constexpr,
    WITH_STATS: tl.constexpr,
    CDT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Smooth max pooling per output: ``y``; with ``WITH_JVP`` or ``WITH_STATS`` also
    ``dy/dbeta = (sum_i p_i (x_i - shift) - lse) / beta`` (the cells taking part with
    ``p_i != 0``; the spec's ``(sum_i p_i x_i - y) / beta`` with the shift taken out of
    both terms, which neither overflows nor loses ``lse`` to ``y``'s rounding; 0 / NaN
    where ``y`` is infinite / NaN) and then ``y_dot = sum_i p_i x_dot_i + dy/dbeta
    beta_dot`` (``WITH_JVP``) or the stored ``shift`` and ``lse`` in ``CDT`` and the
    per-output beta cotangent ``dy/dbeta * grad_y`` (``WITH_STATS``)."""
    offs = _block(BLOCK)
    mask = offs < total
    nc = offs // plane_out
    o = offs % plane_out
    base = nc * plane_in
    beta = tl.load(beta_ptr + nc % channels).to(CDT)
    y, shift, lse = _smooth_window(
        x_ptr, base, o, mask, beta, geom_ptr, K, D, ADAPTIVE, ZERO_PAD, CDT
    )
    tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)
    if WITH_JVP or WITH_STATS:
        weighted = tl.full(offs.shape, 0.0, CDT)
        acc = tl.full(offs.shape, 0.0, CDT)
        for k in range(K):
            v, cell, real, inside = _window_load(
                x_ptr, base, o, k, mask, geom_ptr, D, ADAPTIVE, CDT
            )
            if ZERO_PAD:
                part = inside
            else:
                part = real
            pw = _smooth_cell_partial(v, y, shift, lse, beta)
            weighted += tl.where(part & (pw != 0), pw * (v - shift), 0.0)  # 0 * (-inf) = 0
            if WITH_JVP:
                v_dot = tl.load(x_dot_ptr + base + cell, mask=real, other=0.0).to(CDT)
                acc += tl.where(real, pw * v_dot, 0.0)
        finite = tl.abs(y) < float("inf")
        spread = weighted - tl.where(finite, lse, 0.0)
        dbeta = tl.where(finite, _div(spread, beta, CDT), _nan_or_zero(y))
        if WITH_JVP:
            acc += dbeta * tl.load(beta_dot_ptr + nc % channels).to(CDT)
            tl.store(y_dot_ptr + offs, acc.to(y_dot_ptr.dtype.element_ty), mask=mask)
        if WITH_STATS:
            tl.store(shift_stat_ptr + offs, shift, mask=mask)
            tl.store(lse_stat_ptr + offs, lse, mask=mask)
            g = tl.load(grad_y_ptr + offs, mask=mask, other=0.0).to(CDT)
            tl.store(grad_beta_ptr + offs, dbeta * g, mask=mask)


@triton.jit
def smooth_max_backward_kernel(
    x_ptr,
    beta_ptr,
    grad_y_ptr,
    shift_stat_ptr,
    lse_stat_ptr,
    grad_x_ptr,
    geom_ptr,
    total,
    plane_in,
    plane_out,
    channels,
    R,
    D: tl.constexpr,
    ADAPTIVE: tl.constexpr,
    CDT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Smooth max VJP by gather: input cell ``i`` sums ``exp(beta (x_i - y_o)) grad_y[o]``
    over the windows ``o`` that contain it (a real cell always takes part), the weight
    formed from the window's stored ``shift`` and ``lse`` (``y = shift + lse``)."""
    offs = _block(BLOCK)
    mask = offs < total
    nc = offs // plane_in
    i = offs % plane_in
    v = tl.load(x_ptr + offs, mask=mask, other=0.0).to(CDT)
    beta = tl.load(beta_ptr + nc % channels, mask=mask, other=1.0).to(CDT)
    acc = tl.full(offs.shape, 0.0, CDT)
    for r in range(R):
        o, valid = _candidate(i, r, geom_ptr, D, ADAPTIVE)
        use = mask & valid
        out = nc * plane_out + o
        shift = tl.load(shift_stat_ptr + out, mask=use, other=0.0)
        lse = tl.load(lse_stat_ptr + out, mask=use, other=0.0)
        g = tl.load(grad_y_ptr + out, mask=use, other=0.0).to(CDT)
        pw = _smooth_cell_partial(v, shift + lse, shift, lse, beta)
        acc += tl.where(use, pw * g, 0.0)
    tl.store(grad_x_ptr + offs, acc.to(grad_x_ptr.dtype.element_ty), mask=mask)
