"""The spec against the naive loop reference (tests/spec/naive_reference.py), d = 1..4."""

from __future__ import annotations

import naive_reference as naive
import numpy as np
import pytest
from spec_helpers import (
    U,
    assert_same,
    assert_within,
    random_adaptive_config,
    random_sliding_config,
    random_values,
    ulps,
)

from ndpool import spec

DIMS = (1, 2, 3, 4)
CASES = 12  # random configurations per (op, d)
NAIVE_OPS = {
    "max_pool",
    "avg_pool",
    "lp_pool",
    "smooth_max_pool",
    "adaptive_max_pool",
    "adaptive_avg_pool",
}


def _cases(seed, d, adaptive=False, kinds=("grid", "special", "normal")):
    """Random ``(x, cfg)`` pairs: batched and unbatched inputs, N = 0 included."""
    rng = np.random.default_rng(seed)
    for i in range(CASES):
        spatial, cfg = (random_adaptive_config if adaptive else random_sliding_config)(rng, d)
        unbatched = i % 3 == 1  # every third case is passed unbatched: [C, *S]
        n = 1 if unbatched else 0 if i == 0 else int(rng.integers(1, 3))
        c = int(rng.integers(1, 3))
        x = random_values(rng, (n, c, *spatial), kinds[i % len(kinds)])
        if unbatched and isinstance(cfg.get("kernel_size"), int):
            cfg["kernel_size"] = (cfg["kernel_size"],) * d  # C1: an int kernel means batched
        yield rng, x, cfg, unbatched


def _call(x, unbatched):
    """What the spec is called with: ``x`` or its only batch entry."""
    return (x[0] if unbatched else x), unbatched


def _rebatch(a, unbatched):
    return a[None] if unbatched else a


def test_every_registered_op_has_a_naive_reference():
    """Here (naive_reference.py) or in the learnable poolers' loops (poolers_naive.py)."""
    try:
        import poolers_naive
    except ImportError:
        poolers_naive = None
    covered = NAIVE_OPS | {n for n in spec.OPS if hasattr(poolers_naive, n)}
    missing = set(spec.OPS) - covered
    assert not missing, f"ops without a naive loop reference in tests/spec: {sorted(missing)}"


@pytest.mark.parametrize("adaptive", [False, True], ids=["max_pool", "adaptive_max_pool"])
@pytest.mark.parametrize("d", DIMS)
def test_max_pool_matches_naive(d, adaptive):
    name = "adaptive_max_pool" if adaptive else "max_pool"
    for rng, x, cfg, unbatched in _cases(100 + d, d, adaptive):
        xs, unbatched = _call(x, unbatched)
        y, idx = spec.OPS[name](xs, return_indices=True, **cfg)
        y_ref, idx_ref = naive.max_pool(x, adaptive=adaptive, **cfg)
        what = f"{name} x.shape={x.shape} cfg={cfg}"
        assert_same(_rebatch(y, unbatched), y_ref, what + " values")
        assert_same(_rebatch(idx, unbatched), idx_ref, what + " indices")
        # VJP (the winner, NaN and +-inf included, gets the cotangent): integer
        # cotangents, so every sum is exact
        y_bar = rng.integers(-3, 4, y_ref.shape).astype(np.float64)
        cot = y_bar[0] if unbatched else y_bar
        (x_bar,) = spec.vjp(name, (xs,), cot, **cfg)
        expect = naive.max_pool_vjp(x, y_bar, adaptive=adaptive, **cfg)
        assert_same(_rebatch(x_bar, unbatched), expect, what + " VJP")
        # JVP: the winner's tangent (0 for a window without a real cell)
        v = rng.standard_normal(x.shape)
        _, y_dot = spec.jvp(name, (xs,), (v[0] if unbatched else v,), **cfg)
        n, c = v.shape[:2]
        planes = v.reshape(n, c, int(np.prod(v.shape[2:])))
        flat_idx = np.maximum(idx_ref, 0).reshape(n, c, int(np.prod(idx_ref.shape[2:])))
        picked = np.take_along_axis(planes, flat_idx, axis=2).reshape(idx_ref.shape)
        assert_same(_rebatch(y_dot, unbatched), np.where(idx_ref >= 0, picked, 0.0), "JVP")


@pytest.mark.parametrize("adaptive", [False, True], ids=["avg_pool", "adaptive_avg_pool"])
@pytest.mark.parametrize("d", DIMS)
def test_avg_pool_matches_naive(d, adaptive):
    name = "adaptive_avg_pool" if adaptive else "avg_pool"
    for rng, x, cfg, unbatched in _cases(200 + d, d, adaptive):
        if not adaptive:
            cfg["count_include_pad"] = bool(rng.random() < 0.5)
            if rng.random() < 0.25:
                cfg["divisor_override"] = int(rng.choice([-3, 1, 2, 5]))
        xs, unbatched = _call(x, unbatched)
        x0 = x
        what = f"{name} x.shape={x.shape} cfg={cfg}"
        y = _rebatch(spec.OPS[name](xs, **cfg), unbatched)
        y_ref = naive.avg_pool(x0, adaptive=adaptive, **cfg)
        # naive: correctly rounded sum / divisor; spec: a float64 sum of <= K terms / divisor.
        # |error| <= (gamma_K * sum|x| + 2u|total|) / |divisor|, bounded via sum|x|.
        k = max(1, int(np.prod(y_ref.shape[2:]) and naive_window_cells(x0, cfg, adaptive)))
        magnitude = np.abs(
            naive.avg_pool(np.where(np.isfinite(x0), np.abs(x0), 0.0), adaptive=adaptive, **cfg)
        )
        assert_within(y, y_ref, (ulps(k) + 2 * U) * magnitude, what + " values")
        v = rng.standard_normal(x.shape)
        _, y_dot = spec.jvp(name, (xs,), (v[0] if unbatched else v,), **cfg)
        v_ref = naive.avg_pool(v, adaptive=adaptive, **cfg)
        v_mag = np.abs(naive.avg_pool(np.abs(v), adaptive=adaptive, **cfg))
        v_ref = np.where(np.isnan(v_ref), 0.0, v_ref)  # an empty window's derivative is 0
        v_mag = np.where(np.isnan(v_mag), 0.0, v_mag)
        assert_within(_rebatch(y_dot, unbatched), v_ref, (ulps(k) + 3 * U) * v_mag, "JVP")
        # VJP against the naive divisor weights
        xf = np.where(np.isfinite(x0), x0, 0.0)
        y_bar = rng.standard_normal(y_ref.shape)
        cot = y_bar[0] if unbatched else y_bar
        (x_bar,) = spec.vjp(name, (xf[0] if unbatched else xf,), cot, **cfg)
        expect = naive.avg_pool_vjp(xf, y_bar, adaptive=adaptive, **cfg)
        windows_per_cell = max(1, int(np.prod(y_ref.shape[2:])))
        bound_mag = naive.avg_pool_vjp(xf, np.abs(y_bar), adaptive=adaptive, **cfg)
        # each contribution rounds twice (1/divisor, times y_bar) vs once, then a sum
        bound = (ulps(windows_per_cell) + 3 * U) * np.abs(bound_mag)
        assert_within(_rebatch(x_bar, unbatched), expect, bound, what + " VJP")


def naive_window_cells(x, cfg, adaptive):
    _, wins = naive.windows(x.shape[2:], cfg, adaptive)
    return max(len(t) for t in wins.values())


@pytest.mark.parametrize("d", DIMS)
def test_lp_pool_matches_naive(d):
    for i, (rng, x, cfg, unbatched) in enumerate(_cases(300 + d, d)):
        sign = "abs" if i % 2 else "signed"
        if sign == "abs":
            p = float(rng.choice([0.5, 1.0, 2.0, 2.5, 3.0, np.inf]))
        else:
            p = float(rng.choice([1.0, 2.0, 3.0, 1.5]))
            x = np.where(x == -np.inf, np.inf, x)  # IEEE pow(-inf, 1/p) is a corner we skip
        xs, unbatched = _call(x, unbatched)
        x0 = x
        what = f"lp_pool p={p} sign={sign} x.shape={x.shape} cfg={cfg}"
        y = _rebatch(spec.lp_pool(xs, p, sign=sign, **cfg), unbatched)
        y_ref = naive.lp_pool(x0, p, sign=sign, **cfg)
        # relative error of sum t^p is <= gamma_(K+p+3) * sum |t|^p (scaling by M, pow);
        # y = S^(1/p) turns it into |y| * that / (p |S|), plus the last rounding.
        k = naive_window_cells(x0, cfg, False)
        a = naive.lp_pool(np.abs(x0), p, sign="abs", **cfg) if np.isfinite(p) else 1.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            amp = np.where(y_ref != 0, (np.abs(a) / np.abs(y_ref)) ** p, 1.0)
            bound = 2 * (ulps(k + 8) * amp * np.abs(y_ref) + U * np.abs(y_ref))
        assert_within(y, y_ref, bound, what)


@pytest.mark.parametrize("d", DIMS)
def test_smooth_max_pool_matches_naive(d):
    for i, (rng, x, cfg, unbatched) in enumerate(_cases(400 + d, d)):
        beta = float(rng.choice([0.5, 1.0, 3.0]))
        policy = "zero" if i % 2 else "ignore"
        xs, unbatched = _call(x, unbatched)
        x0 = x
        what = f"smooth_max_pool beta={beta} policy={policy} x.shape={x.shape} cfg={cfg}"
        y = _rebatch(spec.smooth_max_pool(xs, beta, padding_policy=policy, **cfg), unbatched)
        y_ref = naive.smooth_max_pool(x0, beta, padding_policy=policy, **cfg)
        # y = m + log(sum exp(beta (x - m)))/beta: the sum has relative error
        # <= (K + beta*R + 3) u with R the value range; log, /beta and + m add 3u|y|.
        k = naive_window_cells(x0, cfg, False)
        finite = np.where(np.isfinite(x0), np.abs(x0), 0)
        r = 2 * finite.max() if finite.size else 0.0
        bound = 2 * ((k + beta * r + 3) * U / beta + 3 * U * np.abs(np.nan_to_num(y_ref)))
        assert_within(y, y_ref, bound, what)


def test_naive_reference_hand_worked():
    """Meta-test of the oracle itself on a hand-worked 1-D example."""
    x = np.array([[[1.0, 5.0, 5.0, 2.0, 7.0]]])
    y, idx = naive.max_pool(x, kernel_size=(3,), stride=2, padding=1)
    assert y.tolist() == [[[5.0, 5.0, 7.0]]] and idx.tolist() == [[[1, 1, 4]]]
    y = naive.avg_pool(x, kernel_size=(2,), stride=2, ceil_mode=True)
    assert y.tolist() == [[[3.0, 3.5, 7.0]]]
    # ceil_mode drops a window that would start in the end padding: L=4, k=2, s=2, pad 1
    outs, _ = naive.sliding_windows((4,), (2,), 2, 1, 1, True)
    assert outs == (3,)
    outs, _ = naive.sliding_windows((5,), (3,), 3, 1, 1, True)  # starts -1, 2, 5 -> drop 5
    assert outs == (2,)
