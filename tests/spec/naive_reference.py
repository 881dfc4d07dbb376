"""A deliberately naive loop reference for every pooling op (tests only).

Written from the conventions in the docstrings and ARCHITECTURE.md, not from
the spec's code: plain Python loops over N, C, output positions and window
taps in row-major order. Slow and obvious; only for small inputs.

Every function takes a batched float64 array ``[N, C, *S]`` and returns plain
NumPy arrays. ``windows`` is the one place that enumerates taps; each op is a
short loop over its result.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np


# -- geometry ----------------------------------------------------------------------------
def resolve_padding(padding, spatial, kernel, stride, dilation):
    """Per-axis (begin, end) padding from any accepted padding form."""
    d = len(spatial)
    if padding == "valid":
        return [(0, 0)] * d
    if padding in ("same", "same_lower"):
        pads = []
        for a in range(d):
            eff = dilation[a] * (kernel[a] - 1) + 1
            out = math.ceil(spatial[a] / stride[a])
            total = max((out - 1) * stride[a] + eff - spatial[a], 0)
            small = total // 2
            big = total - small
            pads.append((small, big) if padding == "same" else (big, small))
        return pads
    if isinstance(padding, int):
        return [(padding, padding)] * d
    pads = []
    for p in padding:
        pads.append((p, p) if isinstance(p, int) else (p[0], p[1]))
    return pads


def out_extent(length, k, s, pad, dl, ceil_mode):
    eff = dl * (k - 1) + 1
    span = length + pad[0] + pad[1] - eff
    if not ceil_mode:
        return math.floor(span / s) + 1
    out = math.ceil(span / s) + 1
    # the last window may not START in the end padding
    if (out - 1) * s - pad[0] >= length:
        out -= 1
    return out


def as_tuple(v, d):
    return (v,) * d if isinstance(v, int) else tuple(v)


def sliding_windows(spatial, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``{output position: [(coords, real, in_extent), ...]}`` with taps in row-major order."""
    d = len(spatial)
    kernel = as_tuple(kernel_size, d)
    stride = kernel if stride is None else as_tuple(stride, d)
    dilation = as_tuple(dilation, d)
    pads = resolve_padding(padding, spatial, kernel, stride, dilation)
    outs = [
        out_extent(spatial[a], kernel[a], stride[a], pads[a], dilation[a], ceil_mode)
        for a in range(d)
    ]
    result = {}
    for o in itertools.product(*[range(n) for n in outs]):
        taps = []
        for j in itertools.product(*[range(k) for k in kernel]):
            coords = tuple(o[a] * stride[a] - pads[a][0] + j[a] * dilation[a] for a in range(d))
            real = all(0 <= coords[a] < spatial[a] for a in range(d))
            inside = all(-pads[a][0] <= coords[a] < spatial[a] + pads[a][1] for a in range(d))
            taps.append((coords, real, inside))
        result[o] = taps
    return tuple(outs), result


def adaptive_windows(spatial, output_size):
    d = len(spatial)
    sizes = as_tuple(output_size, d)
    sizes = tuple(spatial[a] if sizes[a] is None else sizes[a] for a in range(d))
    result = {}
    for o in itertools.product(*[range(n) for n in sizes]):
        ranges = []
        for a in range(d):
            start = math.floor(o[a] * spatial[a] / sizes[a])
            end = math.ceil((o[a] + 1) * spatial[a] / sizes[a])
            ranges.append(range(start, end))
        result[o] = [(c, True, True) for c in itertools.product(*ranges)]
    return sizes, result


def windows(spatial, cfg, adaptive):
    if adaptive:
        return adaptive_windows(spatial, cfg["output_size"])
    keys = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    return sliding_windows(spatial, **{k: cfg[k] for k in keys if k in cfg})


def flat(coords, spatial):
    index = 0
    for c, n in zip(coords, spatial):
        index = index * n + c
    return index


# -- ops ---------------------------------------------------------------------------------
def _first_max(values, ordered: bool = False):
    """Position of the winner among ``values`` (first NaN, else first maximum), or None.
    ``ordered``: -0.0 < +0.0 (IEEE maximum, max_pool's ``signed_zeros="ordered"``)."""
    best = None
    for i, v in enumerate(values):
        if math.isnan(v):
            return i
        if best is None or v > values[best]:
            best = i
        elif (
            ordered
            and v == values[best] == 0
            and math.copysign(1, values[best]) < 0 < (math.copysign(1, v))
        ):
            best = i
    return best


def max_pool(x, *, adaptive=False, **cfg):
    """``(values, indices)``."""
    n, c, *spatial = x.shape
    outs, wins = windows(spatial, cfg, adaptive)
    y = np.empty((n, c, *outs))
    idx = np.empty((n, c, *outs), dtype=np.int64)
    for b in range(n):
        for ch in range(c):
            for o, taps in wins.items():
                cells = [coords for coords, real, _ in taps if real]
                values = [float(x[(b, ch, *coords)]) for coords in cells]
                win = _first_max(values)
                if win is None:
                    y[(b, ch, *o)], idx[(b, ch, *o)] = -math.inf, -1
                else:
                    y[(b, ch, *o)] = values[win]
                    idx[(b, ch, *o)] = flat(cells[win], spatial)
    return y, idx


def max_pool_vjp(x, y_bar, *, adaptive=False, **cfg):
    _, idx = max_pool(x, adaptive=adaptive, **cfg)
    n, c = x.shape[:2]
    x_bar = np.zeros_like(x)
    for b in range(n):
        for ch in range(c):
            plane = x_bar[b, ch].reshape(-1)  # a view
            for o in itertools.product(*[range(m) for m in idx.shape[2:]]):
                i = idx[(b, ch, *o)]
                if i >= 0:
                    plane[i] += y_bar[(b, ch, *o)]
    return x_bar


def _avg_weights(spatial, taps, cfg, adaptive):
    """``[(coords, weight)]`` for the real cells of one window, and the divisor."""
    real = [coords for coords, r, _ in taps if r]
    if adaptive:
        divisor = len(real)
    elif cfg.get("divisor_override") is not None:
        divisor = cfg["divisor_override"]
    elif cfg.get("count_include_pad", True):
        divisor = sum(1 for _, _, inside in taps if inside)
    else:
        divisor = len(real)
    return real, divisor


def avg_pool(x, *, adaptive=False, **cfg):
    n, c, *spatial = x.shape
    outs, wins = windows(spatial, cfg, adaptive)
    y = np.empty((n, c, *outs))
    for b in range(n):
        for ch in range(c):
            for o, taps in wins.items():
                real, divisor = _avg_weights(spatial, taps, cfg, adaptive)
                vals = [float(x[(b, ch, *coords)]) for coords in real]
                finite = all(math.isfinite(v) for v in vals)
                total = math.fsum(vals) if finite else sum(vals)  # IEEE inf / NaN rules
                y[(b, ch, *o)] = total / divisor if divisor != 0 else math.nan
    return y


def avg_pool_vjp(x, y_bar, *, adaptive=False, **cfg):
    n, c, *spatial = x.shape
    _, wins = windows(spatial, cfg, adaptive)
    x_bar = np.zeros_like(x)
    for b in range(n):
        for ch in range(c):
            for o, taps in wins.items():
                real, divisor = _avg_weights(spatial, taps, cfg, adaptive)
                for coords in real:
                    x_bar[(b, ch, *coords)] += y_bar[(b, ch, *o)] / divisor
    return x_bar


def lp_pool(x, p, *, sign="abs", **cfg):
    """``(sum t^p)^(1/p)`` over real cells; ``p`` a float (same for every channel)."""
    n, c, *spatial = x.shape
    outs, wins = windows(spatial, cfg, False)
    y = np.empty((n, c, *outs))
    for b in range(n):
        for ch in range(c):
            for o, taps in wins.items():
                vals = [float(x[(b, ch, *coords)]) for coords, real, _ in taps if real]
                if math.isinf(p):  # max |x| with the max-pool NaN rule; 0 for no cell
                    nan = any(math.isnan(v) for v in vals)
                    y[(b, ch, *o)] = math.nan if nan else max([abs(v) for v in vals] or [0.0])
                    continue
                ts = [abs(v) if sign == "abs" else v for v in vals]
                with np.errstate(invalid="ignore"):
                    total = sum(np.power(np.float64(t), p) for t in ts)
                    y[(b, ch, *o)] = np.power(np.float64(total), 1.0 / p)
    return y


def smooth_max_pool(x, beta, *, padding_policy="zero", **cfg):
    """``(1/beta) log sum exp(beta x)`` in 50-digit mpmath, rounded to float64."""
    n, c, *spatial = x.shape
    outs, wins = windows(spatial, cfg, False)
    y = np.empty((n, c, *outs))
    with mpmath.workdps(50):
        b_ = mpmath.mpf(beta)
        for b in range(n):
            for ch in range(c):
                for o, taps in wins.items():
                    vals = []
                    for coords, real, inside in taps:
                        if real:
                            vals.append(mpmath.mpf(float(x[(b, ch, *coords)])))
                        elif inside and padding_policy == "zero":
                            vals.append(mpmath.mpf(0))
                    if any(mpmath.isnan(v) for v in vals):
                        y[(b, ch, *o)] = math.nan
                    elif any(v == mpmath.inf for v in vals):
                        y[(b, ch, *o)] = math.inf
                    else:
                        total = mpmath.fsum(mpmath.exp(b_ * v) for v in vals)
                        y[(b, ch, *o)] = float(mpmath.log(total) / b_) if total else -math.inf
    return y
