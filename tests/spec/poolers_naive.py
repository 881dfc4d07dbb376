"""Naive loop references for the learnable and stochastic poolers (tests only).

Written from the formulas in the docs, not from the spec's code: Python loops
over N, C, output positions and window taps in row-major order, plain floats
(``math``) or ``mpmath`` for the quantile root. Slow; small inputs only.
Every function takes a batched float64 array ``[N, C, *S]``.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np


def _tuple(v, d):
    return (v,) * d if isinstance(v, int) else tuple(v)


def windows(spatial, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``(out_shape, {o: [(k, coords or None), ...]})``: every tap in row-major order,
    ``coords`` None for a tap that reads no input cell. Int/per-axis padding only."""
    d = len(spatial)
    kernel = _tuple(kernel_size, d)
    stride = kernel if stride is None else _tuple(stride, d)
    dil = _tuple(dilation, d)
    pads = [(p, p) if isinstance(p, int) else tuple(p) for p in _tuple(padding, d)]
    outs = []
    for a in range(d):
        span = spatial[a] + pads[a][0] + pads[a][1] - (dil[a] * (kernel[a] - 1) + 1)
        if ceil_mode:
            o = -(-span // stride[a]) + 1
            if (o - 1) * stride[a] >= spatial[a] + pads[a][0]:
                o -= 1
        else:
            o = span // stride[a] + 1
        outs.append(o)
    result = {}
    for o in itertools.product(*[range(n) for n in outs]):
        taps = []
        for k, j in enumerate(itertools.product(*[range(n) for n in kernel])):
            c = tuple(o[a] * stride[a] - pads[a][0] + j[a] * dil[a] for a in range(d))
            taps.append((k, c if all(0 <= c[a] < spatial[a] for a in range(d)) else None))
        result[o] = taps
    return tuple(outs), result


def _loop(x, cfg, reduce, dtype=float):
    """Apply ``reduce(b, ch, o, [(k, value), ...])`` to every window."""
    n, c, *spatial = x.shape
    outs, wins = windows(spatial, **cfg)
    y = np.empty((n, c, *outs), dtype=dtype)
    for b in range(n):
        for ch in range(c):
            for o, taps in wins.items():
                cells = [(k, float(x[(b, ch, *cc)])) for k, cc in taps if cc is not None]
                y[(b, ch, *o)] = reduce(b, ch, o, cells)
    return y


def _sig(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def _per_channel(p, ch):
    p = np.asarray(p, dtype=float)
    return float(p) if p.ndim == 0 else float(p[ch])


def _window_param(p, ch, k):
    p = np.asarray(p, dtype=float)
    return float(p[k]) if p.ndim == 1 else float(p[ch, k])


# -- selection ops ------------------------------------------------------------------------
def median_pool(x, **cfg):
    """``(values, flat indices of the selected cells)`` (NaN, -1 for empty windows)."""
    n, c, *spatial = x.shape
    outs, wins = windows(spatial, **cfg)
    y = np.empty((n, c, *outs))
    idx = np.empty((n, c, *outs), dtype=np.int64)
    for b in range(n):
        for ch in range(c):
            for o, taps in wins.items():
                cells = [(float(x[(b, ch, *cc)]), cc) for _, cc in taps if cc is not None]
                pick = None
                for v, cc in cells:
                    if math.isnan(v):
                        pick = (v, cc)
                        break
                if pick is None and cells:
                    med = sorted(v for v, _ in cells)[(len(cells) - 1) // 2]
                    pick = next((v, cc) for v, cc in cells if v == med)
                if pick is None:
                    y[(b, ch, *o)], idx[(b, ch, *o)] = math.nan, -1
                else:
                    y[(b, ch, *o)] = pick[0]
                    idx[(b, ch, *o)] = int(np.ravel_multi_index(pick[1], spatial))
    return y, idx


def stochastic_pool(x, u, mode="train", **cfg):
    def train(b, ch, o, cells):
        total = 0.0
        for _, v in cells:
            total += v
        if total == 0:
            return 0.0
        t = float(u[(b, ch, *o)]) * total
        running = 0.0
        for _, v in cells:
            running += v
            if running > t:
                return v
        return [v for _, v in cells if v > 0][-1]

    def evaluate(b, ch, o, cells):
        total = sum(v for _, v in cells)
        return 0.0 if total == 0 else sum(v * v for _, v in cells) / total

    return _loop(x, cfg, train if mode == "train" else evaluate)


def gumbel_pool(x, temperature, g=None, mode="train", **cfg):
    def reduce(b, ch, o, cells):
        if not cells:
            return math.nan
        t = _per_channel(temperature, ch)
        if mode == "train":
            best, best_score = None, None
            for k, v in cells:
                score = v / t + float(g[(b, ch, *o, k)])
                if best is None or score > best_score:
                    best, best_score = v, score
            return best
        top = max(v / t for _, v in cells)
        weights = [math.exp(v / t - top) for _, v in cells]
        return sum(w * v for w, (_, v) in zip(weights, cells)) / sum(weights)

    return _loop(x, cfg, reduce)


def _s3_draws(spatial, mapped, s, g):
    """Every ``indices`` of the reference sampler: per axis, per grid of ``g`` rows (the
    last one running to the end of the map) every sorted ``g/s``-subset."""
    per_axis = []
    for a in range(len(spatial)):
        grids = spatial[a] // g[a]
        bounds = [(j * g[a], (j + 1) * g[a]) for j in range(grids - 1)]
        bounds.append(((grids - 1) * g[a], mapped[a]))
        choices = [list(itertools.combinations(range(lo, hi), g[a] // s[a])) for lo, hi in bounds]
        per_axis.append([sum(pick, ()) for pick in itertools.product(*choices)])
    return [sum(rows, ()) for rows in itertools.product(*per_axis)]


def s3_pool(
    x,
    indices=None,
    *,
    kernel_size,
    stride=None,
    grid_size=None,
    mode="train",
    eval_rule="expectation",
):
    """Padding 0, dilation 1; 1-D and 2-D. Eval ``"expectation"``: the mean of the
    training output over every draw of the sampler."""
    n, c, *spatial = x.shape
    d = len(spatial)
    k = _tuple(kernel_size, d)
    s = k if stride is None else _tuple(stride, d)
    g = s if grid_size is None else _tuple(grid_size, d)
    if mode == "eval" and eval_rule == "expectation":
        mapped = [spatial[a] - k[a] + 1 for a in range(d)]
        draws = _s3_draws(spatial, mapped, s, g)
        cfg = {"kernel_size": kernel_size, "stride": stride, "grid_size": grid_size}
        return sum(s3_pool(x, np.array(idx), **cfg) for idx in draws) / len(draws)
    mapped = [spatial[a] - k[a] + 1 for a in range(d)]
    m = np.empty((n, c, *mapped))
    for idx in itertools.product(*[range(v) for v in (n, c, *mapped)]):
        b, ch, *o = idx
        m[idx] = max(
            float(x[(b, ch, *[o[a] + j[a] for a in range(d)])])
            for j in itertools.product(*[range(v) for v in k])
        )
    if mode == "eval":  # avg pool kernel s, stride s, padding s//2, padded cells excluded
        outs = [(mapped[a] + 2 * (s[a] // 2) - s[a]) // s[a] + 1 for a in range(d)]
        y = np.empty((n, c, *outs))
        for idx in itertools.product(*[range(v) for v in (n, c, *outs)]):
            b, ch, *o = idx
            vals = []
            for j in itertools.product(*[range(v) for v in s]):
                pos = [o[a] * s[a] - s[a] // 2 + j[a] for a in range(d)]
                if all(0 <= pos[a] < mapped[a] for a in range(d)):
                    vals.append(float(m[(b, ch, *pos)]))
            y[idx] = sum(vals) / len(vals)
        return y
    rows, start = [], 0
    for a in range(d):
        size = (spatial[a] // g[a]) * (g[a] // s[a])
        rows.append([int(v) for v in indices[start : start + size]])
        start += size
    y = np.empty((n, c, *[len(r) for r in rows]))
    for idx in itertools.product(*[range(v) for v in y.shape]):
        b, ch, *o = idx
        y[idx] = m[(b, ch, *[rows[a][o[a]] for a in range(d)])]
    return y


# -- smooth ops ---------------------------------------------------------------------------
def soft_pool(x, **cfg):
    def reduce(b, ch, o, cells):
        if not cells:
            return math.nan
        top = max(v for _, v in cells)
        w = [math.exp(v - top) for _, v in cells]
        return sum(wi * v for wi, (_, v) in zip(w, cells)) / sum(w)

    return _loop(x, cfg, reduce)


def gem_pool(x, p, eps=1e-6, **cfg):
    def reduce(b, ch, o, cells):
        if not cells:
            return math.nan
        pp = _per_channel(p, ch)
        t = [max(v, eps) for _, v in cells]
        return (sum(ti**pp for ti in t) / len(t)) ** (1 / pp)

    return _loop(x, cfg, reduce)


def _max_mean(cells):
    return max(v for _, v in cells), sum(v for _, v in cells) / len(cells)


def mixed_pool(x, a, **cfg):
    def reduce(b, ch, o, cells):
        if not cells:
            return math.nan
        big, mean = _max_mean(cells)
        s = _sig(_per_channel(a, ch))
        return s * big + (1 - s) * mean

    return _loop(x, cfg, reduce)


def gated_pool(x, omega, bias=None, **cfg):
    def reduce(b, ch, o, cells):
        if not cells:
            return math.nan
        big, mean = _max_mean(cells)
        shift = 0.0 if bias is None else _per_channel(bias, ch)
        s = _sig(sum(_window_param(omega, ch, k) * v for k, v in cells) + shift)
        return s * big + (1 - s) * mean

    return _loop(x, cfg, reduce)


def tree_pool(x, v1, v2, omega, **cfg):
    def reduce(b, ch, o, cells):
        def dot(p):
            return sum(_window_param(p, ch, k) * v for k, v in cells)

        s = _sig(dot(omega))
        return s * dot(v1) + (1 - s) * dot(v2)

    return _loop(x, cfg, reduce)


def quantile_root(values, q, alpha, dps=60):
    """The root of ``sum sigma(alpha (m - x_i)) = n q`` by bisection in mpmath."""
    with mpmath.workdps(dps):
        xs = [mpmath.mpf(v) for v in values]
        q, alpha = mpmath.mpf(q), mpmath.mpf(alpha)
        t = mpmath.log(q) - mpmath.log1p(-q)
        lo, hi = min(xs) + t / alpha, max(xs) + t / alpha

        def f(m):
            # sigma(z) = 1 - sigma(-z): the saturated ones are counted exactly (an integer),
            # the rest are sums of positive terms (mpmath has no underflow)
            zs = [alpha * (m - v) for v in xs]
            ones = sum(1 for z in zs if z >= 0)
            small = mpmath.fsum(1 / (1 + mpmath.exp(-z)) for z in zs if z < 0)
            big = mpmath.fsum(1 / (1 + mpmath.exp(z)) for z in zs if z >= 0)
            return (ones - len(xs) * q) + (small - big)

        for _ in range(4 * dps):
            mid = (lo + hi) / 2
            if f(mid) < 0:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2


def quantile_pool(x, q, alpha, **cfg):
    def reduce(b, ch, o, cells):
        if not cells:
            return math.nan
        return float(
            quantile_root([v for _, v in cells], _per_channel(q, ch), _per_channel(alpha, ch))
        )

    return _loop(x, cfg, reduce)
