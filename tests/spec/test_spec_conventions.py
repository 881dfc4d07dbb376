"""The named conventions: spec options where frameworks disagree, each non-default value
against an independent oracle, plus its adjoint identity and its C14 check.

- ``max_pool`` / ``adaptive_max_pool`` ``signed_zeros="ordered"`` (IEEE maximum,
  ``-0.0 < +0.0``): a naive loop over the windows; JAX's ``lax.reduce_window`` max values.
- ``max_pool`` ``empty_window="lowest"``: a naive loop; ONNX Runtime's ``MaxPool``.
- ``avg_pool`` ``empty_window_derivative="nan"``: a naive loop; ``jax.jvp`` / ``jax.vjp`` of
  the flax-style average.
- ``lp_pool`` ``partial_window="rescaled"``: a naive 50-digit mpmath loop of
  ``(K / n * sum t^p)^(1/p)``; ``torch.nn.functional.lp_pool{1,2,3}d`` values and autograd
  gradients; central finite differences of the JVP (in x and p).

Each framework oracle is skipped when the framework is not installed. The naive loops are
written from the option's docstring (the windows come from ``naive_reference``), not from
the spec's code.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
from naive_reference import _first_max, adaptive_windows, flat, sliding_windows
from spec_helpers import U, random_adaptive_config, random_sliding_config, ulps

from ndpool import spec
from ndpool.spec import ConstraintError

SEEDS = range(40)


def _windows(spatial, cfg, adaptive):
    if adaptive:
        return adaptive_windows(spatial, cfg["output_size"])
    keys = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    return sliding_windows(spatial, **{k: cfg[k] for k in keys if k in cfg})


def _planes(x):
    n, c = x.shape[:2]
    return itertools.product(range(n), range(c))


def _dot(a, b) -> float:
    """``sum a * b`` with ``0 * anything = 0`` (the spec's zero-tangent convention), exact
    for the small-integer arrays used here."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return math.fsum(np.where(a == 0, 0.0, a * b).ravel().tolist())


# -- max: signed_zeros="ordered" -----------------------------------------------------------
def naive_max(x, cfg, adaptive, lowest=None, ordered=True):
    """``(values, indices)`` under ``signed_zeros="ordered"`` (or ``"tie"``); an empty
    window is ``lowest`` (default -inf) with index -1."""
    spatial = x.shape[2:]
    outs, wins = _windows(spatial, cfg, adaptive)
    y = np.empty(x.shape[:2] + tuple(outs))
    idx = np.empty(x.shape[:2] + tuple(outs), dtype=np.int64)
    for b, ch in _planes(x):
        for o, taps in wins.items():
            cells = [coords for coords, real, _ in taps if real]
            values = [float(x[(b, ch, *c)]) for c in cells]
            win = _first_max(values, ordered)
            if win is None:
                y[(b, ch, *o)] = -math.inf if lowest is None else lowest
                idx[(b, ch, *o)] = -1
            else:
                y[(b, ch, *o)] = values[win]
                idx[(b, ch, *o)] = flat(cells[win], spatial)
    return y, idx


def _selected(a, idx):
    """``a`` at the per-plane flat index ``idx`` (0 where ``idx == -1``)."""
    plane = a.reshape(a.shape[:2] + (-1,))
    got = np.take_along_axis(plane, np.maximum(idx, 0).reshape(idx.shape[:2] + (-1,)), -1)
    return np.where(idx >= 0, got.reshape(idx.shape), 0.0)


def _scatter(y_bar, idx, x_shape):
    x_bar = np.zeros(x_shape)
    for b, ch in _planes(x_bar):
        plane = x_bar[b, ch].reshape(-1)
        for o in np.ndindex(*idx.shape[2:]):
            if idx[(b, ch, *o)] >= 0:
                plane[idx[(b, ch, *o)]] += y_bar[(b, ch, *o)]
    return x_bar


def _zeros_input(rng, shape):
    """Signed zeros, small integers (ties), and some NaN / -inf."""
    choice = rng.choice([-0.0, 0.0, -0.0, 0.0, 1.0, -1.0, -np.inf, np.nan], size=shape)
    return np.where(rng.random(shape) < 0.9, choice, rng.integers(-2, 3, shape)).astype(float)


def _same_bits(a, b, what):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    ok = ((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b))
    assert ok.all(), f"{what}: expected {b[~ok].tolist()}, got {a[~ok].tolist()}"


def _max_case(seed, adaptive):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 4))
    make = random_adaptive_config if adaptive else random_sliding_config
    spatial, cfg = make(rng, d)
    x = _zeros_input(rng, (2, 2, *spatial))
    return rng, x, cfg


@pytest.mark.parametrize("adaptive", [False, True], ids=["sliding", "adaptive"])
def test_signed_zeros_ordered_matches_a_naive_loop(adaptive):
    op = "adaptive_max_pool" if adaptive else "max_pool"
    fn = spec.OPS[op].function
    differs = 0
    for seed in SEEDS:
        rng, x, cfg = _max_case(seed, adaptive)
        what = f"{op}(signed_zeros='ordered') seed {seed} cfg {cfg}"
        y, idx = fn(x, return_indices=True, signed_zeros="ordered", **cfg)
        y_ref, idx_ref = naive_max(x, cfg, adaptive)
        _same_bits(y, y_ref, what + " values")
        assert np.array_equal(idx, idx_ref), f"{what} indices: {idx.tolist()} != {idx_ref}"
        differs += int(not np.array_equal(idx, fn(x, return_indices=True, **cfg)[1]))
        x_dot = rng.integers(-3, 4, x.shape).astype(float)
        _, y_dot = spec.jvp(op, (x,), (x_dot,), signed_zeros="ordered", **cfg)
        _same_bits(y_dot, _selected(x_dot, idx_ref), what + " JVP")
        y_bar = rng.integers(-3, 4, y.shape).astype(float)
        (x_bar,) = spec.vjp(op, (x,), y_bar, signed_zeros="ordered", **cfg)
        _same_bits(x_bar, _scatter(y_bar, idx_ref, x.shape), what + " VJP")
    assert differs, "no case where 'ordered' selects another cell than 'tie' (draw more zeros)"


@pytest.mark.parametrize("adaptive", [False, True], ids=["sliding", "adaptive"])
def test_signed_zeros_ordered_adjoint_identity(adaptive):
    op = "adaptive_max_pool" if adaptive else "max_pool"
    for seed in SEEDS:
        rng, x, cfg = _max_case(seed, adaptive)
        x_dot = rng.integers(-3, 4, x.shape).astype(float)
        _, y_dot = spec.jvp(op, (x,), (x_dot,), signed_zeros="ordered", **cfg)
        y_bar = rng.integers(-3, 4, y_dot.shape).astype(float)
        (x_bar,) = spec.vjp(op, (x,), y_bar, signed_zeros="ordered", **cfg)
        assert _dot(y_bar, y_dot) == _dot(x_dot, x_bar), f"seed {seed} cfg {cfg}"


def test_signed_zeros_tie_and_ordered_on_one_window():
    x = np.array([[[-0.0, 0.0, -0.0]]])
    y, i = spec.max_pool(x, kernel_size=3, return_indices=True)
    assert np.signbit(y).all() and i.tolist() == [[[0]]], (y, i)
    y, i = spec.max_pool(x, kernel_size=3, return_indices=True, signed_zeros="ordered")
    assert not np.signbit(y).any() and i.tolist() == [[[1]]], (y, i)
    (x_bar,) = spec.vjp("max_pool", (x,), np.ones((1, 1, 1)), kernel_size=3, signed_zeros="ordered")
    assert x_bar.tolist() == [[[0.0, 1.0, 0.0]]]


def test_signed_zeros_ordered_agrees_with_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    from ndpool.conformance.targets.jax_lax import max_pool as jax_max_pool

    compared = 0
    for seed in SEEDS:
        _, x, cfg = _max_case(seed, False)
        if cfg["ceil_mode"]:  # reduce_window has no ceil_mode
            cfg = {**cfg, "ceil_mode": False}
            try:
                spec.output_shape("max_pool", x.shape, **cfg)
            except ValueError:
                continue
        kw = {k: v for k, v in cfg.items() if k != "ceil_mode"}
        got = np.asarray(jax_max_pool(jax.numpy.asarray(x), **kw))
        want = spec.max_pool(x, signed_zeros="ordered", **cfg)
        _same_bits(got, want, f"jax vs signed_zeros='ordered', seed {seed} cfg {cfg}")
        compared += 1
    assert compared >= 20, f"only {compared} configurations compared"


# -- max: empty_window="lowest" --------------------------------------------------------------
def _empty_window_cases(past_half: float = 0.25):
    """Configurations with at least one window of padding only (dilation + padding, or a
    padding past half the kernel unless ``past_half`` is 0)."""
    out = []
    for seed in range(400):
        rng = np.random.default_rng(seed)
        d = int(rng.integers(1, 3))
        spatial, cfg = random_sliding_config(rng, d, spatial_max=2, past_half=past_half)
        _, wins = _windows(spatial, cfg, False)
        if any(not any(real for _, real, _ in taps) for taps in wins.values()):
            out.append((rng, spatial, cfg))
    assert len(out) >= 10, "too few configurations with an empty window"
    return out[:30]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_empty_window_lowest_matches_a_naive_loop(dtype):
    lowest = float(np.finfo(dtype).min)
    for rng, spatial, cfg in _empty_window_cases():
        x = rng.integers(-3, 4, (1, 2, *spatial)).astype(dtype)
        what = f"max_pool(empty_window='lowest') {dtype} cfg {cfg}"
        y, idx = spec.max_pool(x, return_indices=True, empty_window="lowest", **cfg)
        assert y.dtype == np.dtype(dtype), what
        y_ref, idx_ref = naive_max(x.astype(np.float64), cfg, False, lowest, ordered=False)
        _same_bits(y, y_ref, what + " values")
        assert np.array_equal(idx, idx_ref), what + " indices"
        assert (y == lowest).any() and np.isfinite(y).all(), what
        x64 = x.astype(np.float64)
        x_dot = rng.integers(-3, 4, x.shape).astype(float)
        _, y_dot = spec.jvp("max_pool", (x64,), (x_dot,), empty_window="lowest", **cfg)
        _same_bits(y_dot, _selected(x_dot, idx_ref), what + " JVP")
        y_bar = rng.integers(-3, 4, y.shape).astype(float)
        (x_bar,) = spec.vjp("max_pool", (x64,), y_bar, empty_window="lowest", **cfg)
        _same_bits(x_bar, _scatter(y_bar, idx_ref, x.shape), what + " VJP")
        assert _dot(y_bar, y_dot) == _dot(x_dot, x_bar), what + " adjoint identity"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_empty_window_lowest_agrees_with_onnxruntime(dtype):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from ndpool.conformance.cases import Case
    from ndpool.conformance.targets.onnx_backends import make_target

    target = make_target("onnxruntime")
    compared = 0
    # within half the kernel: ONNX Runtime rejects pads >= kernel (a registered deviation)
    for rng, spatial, cfg in _empty_window_cases(past_half=0.0):
        if isinstance(cfg["padding"], str):
            continue  # ONNX Runtime's auto_pad ignores the dilation (a registered deviation)
        x = rng.integers(-3, 4, (1, 2, *spatial)).astype(np.float64)
        try:
            case = Case(op="max_pool", x=x, cfg=cfg, dtype=dtype, return_indices=True)
            got_y, got_i = target.forward(case)
        except Exception:  # ONNX Runtime rejects pads >= kernel (a registered deviation)
            continue
        y, i = spec.max_pool(x.astype(dtype), return_indices=True, empty_window="lowest", **cfg)
        _same_bits(got_y, y, f"onnxruntime {dtype} cfg {cfg}")
        if len(spatial) == 1:  # d >= 2: a registered bug (onnxruntime.toml, max-empty-window-index)
            assert np.array_equal(got_i, i), f"onnxruntime {dtype} indices, cfg {cfg}"
        compared += 1
    assert compared >= 5, f"only {compared} configurations ONNX Runtime accepts"


# -- avg: empty_window_derivative="nan" ------------------------------------------------------
def _within(got, want, bound, what):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = (np.isnan(got) & np.isnan(want)) | (np.abs(got - want) <= np.nan_to_num(bound))
    assert ok.all(), f"{what}: expected {want[~ok].tolist()}, got {got[~ok].tolist()}"


def naive_avg_jvp_nan(x_dot, cfg):
    """``sum_real x_dot / divisor``; NaN where the divisor is 0 (no real cell)."""
    spatial = x_dot.shape[2:]
    outs, wins = _windows(spatial, cfg, False)
    y_dot = np.empty(x_dot.shape[:2] + tuple(outs))
    for b, ch in _planes(x_dot):
        for o, taps in wins.items():
            real = [c for c, r, _ in taps if r]
            if cfg.get("divisor_override") is not None:
                divisor = cfg["divisor_override"]
            elif cfg.get("count_include_pad", True):
                divisor = sum(1 for _, _, inside in taps if inside)
            else:
                divisor = len(real)
            terms = [x_dot[(b, ch, *c)] / divisor for c in real] if divisor else []
            y_dot[(b, ch, *o)] = math.fsum(terms) if divisor else math.nan
    return y_dot


def _avg_cases():
    for rng, spatial, cfg in _empty_window_cases():
        for extra in ({"count_include_pad": False}, {"count_include_pad": True}):
            yield rng, spatial, {**cfg, **extra}
    yield (
        np.random.default_rng(0),
        (1,),
        {
            "kernel_size": 2,
            "dilation": 2,
            "padding": 1,
            "count_include_pad": False,
            "divisor_override": 3,
        },
    )


def test_empty_window_derivative_nan_matches_a_naive_loop():
    nan_seen = 0
    for rng, spatial, cfg in _avg_cases():
        x = rng.standard_normal((1, 2, *spatial))
        x_dot = rng.standard_normal(x.shape)
        what = f"avg_pool(empty_window_derivative='nan') cfg {cfg}"
        y, y_dot = spec.jvp("avg_pool", (x,), (x_dot,), empty_window_derivative="nan", **cfg)
        ref = naive_avg_jvp_nan(x_dot, cfg)
        assert np.array_equal(np.isnan(y_dot), np.isnan(ref)), what + " NaN positions"
        k = math.prod(cfg["kernel_size"]) if not isinstance(cfg["kernel_size"], int) else 4
        bound = (ulps(k) + 3 * U) * naive_avg_jvp_nan(np.abs(x_dot), cfg)
        ok = np.isnan(ref) | (np.abs(y_dot - ref) <= bound)
        assert ok.all(), f"{what} JVP: {y_dot[~ok]} != {ref[~ok]}"
        _same_bits(y, spec.avg_pool(x, **cfg), what + " value (the option changes no value)")
        y_bar = rng.standard_normal(y.shape)
        (x_bar,) = spec.vjp("avg_pool", (x,), y_bar, empty_window_derivative="nan", **cfg)
        (x_bar_zero,) = spec.vjp("avg_pool", (x,), y_bar, **cfg)
        _same_bits(x_bar, x_bar_zero, what + " VJP (no cell to send an empty window's to)")
        # the adjoint identity wherever the JVP is defined: a zero cotangent on NaN outputs
        y_bar = np.where(np.isnan(y_dot), 0.0, rng.integers(-3, 4, y.shape)).astype(float)
        xi = rng.integers(-3, 4, x.shape).astype(float)
        _, yi_dot = spec.jvp("avg_pool", (x,), (xi,), empty_window_derivative="nan", **cfg)
        (xi_bar,) = spec.vjp("avg_pool", (x,), y_bar, empty_window_derivative="nan", **cfg)
        lhs, rhs = _dot(y_bar, yi_dot), _dot(xi, xi_bar)
        assert abs(lhs - rhs) <= 4 * ulps(x.size + y.size) * (
            _dot(np.abs(y_bar), np.abs(yi_dot)) + 1
        )
        nan_seen += int(np.isnan(ref).any())
    assert nan_seen, "no case with an empty window and a zero divisor"


def test_empty_window_derivative_nan_agrees_with_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    from ndpool.conformance.targets.jax_lax import avg_pool as jax_avg_pool

    nan_seen = 0
    for rng, spatial, cfg in _avg_cases():
        if cfg.get("ceil_mode") or cfg.get("divisor_override") is not None:
            continue
        kw = {k: v for k, v in cfg.items() if k != "ceil_mode"}
        x = rng.integers(-3, 4, (1, 2, *spatial)).astype(float)
        x_dot = rng.integers(-3, 4, x.shape).astype(float)

        def f(v, kw=kw):
            return jax_avg_pool(v, **kw)

        got_y, got_dot = jax.jvp(f, (jax.numpy.asarray(x),), (jax.numpy.asarray(x_dot),))
        want_y, want_dot = spec.jvp(
            "avg_pool", (x,), (x_dot,), empty_window_derivative="nan", **cfg
        )
        what = f"jax vs empty_window_derivative='nan', cfg {cfg}"
        # both sides: a sum of K terms and a division, on small integers
        tol = 2 * (ulps(math.prod(np.broadcast_to(cfg["kernel_size"], (x.ndim - 2,)))) + 3 * U)
        _within(got_y, want_y, tol * spec.avg_pool(np.abs(x), **cfg), what + " value")
        _within(got_dot, want_dot, tol * spec.avg_pool(np.abs(x_dot), **cfg), what + " JVP")
        y_bar = rng.integers(-3, 4, want_y.shape).astype(float)
        _, pullback = jax.vjp(f, jax.numpy.asarray(x))
        (got_bar,) = pullback(jax.numpy.asarray(y_bar))
        (want_bar,) = spec.vjp("avg_pool", (x,), y_bar, empty_window_derivative="nan", **cfg)
        (mag,) = spec.vjp("avg_pool", (x,), np.abs(y_bar), **cfg)
        _within(got_bar, want_bar, tol * mag, what + " VJP")
        nan_seen += int(np.isnan(want_dot).any())
    assert nan_seen >= 3, f"only {nan_seen} configurations with a NaN derivative"


# -- lp: partial_window="rescaled" -------------------------------------------------------------
def naive_lp_rescaled(x, p, cfg, sign="abs"):
    """``(K / n * sum_real t^p)^(1/p)`` in 50-digit mpmath (``n``: the window's cells inside
    the padded extent, ``K`` all of its cells), rounded to float64."""
    spatial = x.shape[2:]
    outs, wins = _windows(spatial, cfg, False)
    y = np.empty(x.shape[:2] + tuple(outs))
    with mpmath.workdps(50):
        mp_p = mpmath.mpf(float(p))
        for b, ch in _planes(x):
            for o, taps in wins.items():
                inside = sum(1 for _, _, i in taps if i)
                vals = [mpmath.mpf(float(x[(b, ch, *c)])) for c, r, _ in taps if r]
                ts = [abs(v) if sign == "abs" else v for v in vals]
                total = mpmath.fsum(t**mp_p for t in ts) * len(taps) / inside
                y[(b, ch, *o)] = float(total ** (1 / mp_p)) if total > 0 else 0.0
    return y


def _lp_cases(seeds=SEEDS):
    for seed in seeds:
        rng = np.random.default_rng(seed)
        d = int(rng.integers(1, 4))
        spatial, cfg = random_sliding_config(rng, d)
        cfg["ceil_mode"] = True
        try:
            spec.output_shape("lp_pool", (1, 1, *spatial), **cfg)
        except ValueError:
            continue
        p = float(rng.choice([1.0, 2.0, 3.0, 0.5, 1.5, 4.0]))
        yield rng, spatial, cfg, p


def test_partial_window_rescaled_matches_a_naive_loop():
    rescaled = 0
    for rng, spatial, cfg, p in _lp_cases():
        x = rng.standard_normal((1, 2, *spatial))
        y = spec.lp_pool(x, p, partial_window="rescaled", **cfg)
        y_ref = naive_lp_rescaled(x, p, cfg)
        k = math.prod(cfg["kernel_size"]) if not isinstance(cfg["kernel_size"], int) else 1
        # the scaled evaluation: K + 8 roundings of the sum, the root, and rho (2 more)
        bound = 2 * (ulps(k + 10) + U) * np.abs(y_ref) * max(1.0, p, 1 / p)
        assert (np.abs(y - y_ref) <= bound).all(), f"p={p} cfg={cfg}: {y} != {y_ref}"
        rescaled += int(not np.allclose(y, spec.lp_pool(x, p, **cfg)))
    assert rescaled, "no case with a partial window (rescaled == sum everywhere)"


def test_partial_window_rescaled_agrees_with_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    compared = 0
    for seed in SEEDS:  # torch's lp_pool: no padding, no dilation, d <= 3
        rng = np.random.default_rng(seed)
        d = int(rng.integers(1, 4))
        kernel = tuple(int(k) for k in rng.integers(1, 4, d))
        cfg = {"kernel_size": kernel, "stride": tuple(int(v) for v in rng.integers(1, 4, d))}
        cfg["ceil_mode"] = True
        spatial = tuple(k + int(rng.integers(0, 4)) for k in kernel)
        p = float(rng.choice([1.0, 2.0, 3.0, 4.0]))
        kernel = cfg["kernel_size"] if d > 1 else kernel[0]
        stride = cfg["stride"] if d > 1 else cfg["stride"][0]
        fn = getattr(F, f"lp_pool{d}d")
        kw = dict(cfg, sign="signed", partial_window="rescaled")
        what = f"torch lp_pool{d}d p={p} cfg={cfg}"
        k = math.prod(cfg["kernel_size"])
        # values, signed x: both sides round K terms, rho (2 roundings) and the root; the
        # sum's error is relative to sum |t|^p, amplified by cancellation (amp)
        x = rng.standard_normal((1, 2, *spatial))
        got = fn(torch.tensor(x), p, kernel, stride=stride, ceil_mode=True).numpy()
        y = spec.lp_pool(x, p, **kw)
        y_abs = spec.lp_pool(x, p, **{**kw, "sign": "abs"})
        with np.errstate(all="ignore"):
            amp = np.where(y != 0, (y_abs / np.abs(y)) ** p, 1.0)
        _within(got, y, 2 * (ulps(k + 10) * amp + U) * np.abs(y), what + " values")
        # gradients, positive x (no cancellation): a partial rho (t/y)^(p-1) carries |p - 1|
        # times the relative error of t/y, plus its own roundings; a cell sums <= K of them
        x = np.abs(x) + 0.1
        xt = torch.tensor(x, requires_grad=True)
        yt = fn(xt, p, kernel, stride=stride, ceil_mode=True)
        y_bar = rng.standard_normal(tuple(yt.shape))
        (gt,) = torch.autograd.grad(yt, xt, torch.tensor(y_bar))
        (x_bar,) = spec.vjp("lp_pool", (x, np.array(p)), y_bar, **kw)[:1]
        (scale,) = spec.vjp("lp_pool", (x, np.array(p)), np.abs(y_bar), **kw)[:1]
        grad_tol = 2 * (abs(p - 1) * ulps(k + 12) + ulps(k + 6))
        _within(gt.numpy(), x_bar, grad_tol * scale, what + " gradient")
        compared += 1
    assert compared == len(SEEDS)


def test_partial_window_rescaled_jvp_matches_finite_differences():
    for rng, spatial, cfg, p in _lp_cases():
        x = np.abs(rng.standard_normal((1, 2, *spatial))) + 0.5  # smooth: no zero cell
        pa = np.array(p)
        kw = dict(cfg, partial_window="rescaled")
        x_dot, p_dot = rng.standard_normal(x.shape), np.array(rng.standard_normal())
        _, y_dot = spec.jvp("lp_pool", (x, pa), (x_dot, p_dot), **kw)
        h = 1e-6
        plus = spec.lp_pool(x + h * x_dot, pa + h * p_dot, **kw)
        minus = spec.lp_pool(x - h * x_dot, pa - h * p_dot, **kw)
        fd = (plus - minus) / (2 * h)
        np.testing.assert_allclose(y_dot, fd, rtol=1e-6, atol=1e-7, err_msg=f"p={p} cfg={cfg}")


def test_partial_window_rescaled_adjoint_identity():
    for rng, spatial, cfg, p in _lp_cases():
        x = rng.standard_normal((1, 2, *spatial))
        pa = np.array(p)
        kw = dict(cfg, partial_window="rescaled")
        x_dot, p_dot = rng.standard_normal(x.shape), np.array(rng.standard_normal())
        _, y_dot = spec.jvp("lp_pool", (x, pa), (x_dot, p_dot), **kw)
        y_bar = rng.standard_normal(y_dot.shape)
        x_bar, p_bar = spec.vjp("lp_pool", (x, pa), y_bar, **kw)
        lhs = _dot(y_bar, y_dot)
        rhs = _dot(x_dot, x_bar) + _dot(p_dot, p_bar)
        scale = _dot(np.abs(y_bar), np.abs(y_dot)) + _dot(np.abs(x_dot), np.abs(x_bar))
        scale += _dot(np.abs(p_dot), np.abs(p_bar))
        n = x.size + y_bar.size + 2
        assert abs(lhs - rhs) <= 2 * ulps(n + 2) * scale * 16, f"p={p} cfg={cfg}: {lhs} != {rhs}"


def test_partial_window_rescaled_only_scales_partial_windows():
    x = np.array([[[3.0, -4.0, 5.0]]])
    full = dict(kernel_size=2, stride=1)  # windows [3 -4] [-4 5]: full
    assert np.array_equal(
        spec.lp_pool(x, 2.0, partial_window="rescaled", **full), spec.lp_pool(x, 2.0, **full)
    )
    y = spec.lp_pool(x, 2.0, kernel_size=2, stride=2, ceil_mode=True, partial_window="rescaled")
    assert np.allclose(y, [[[5.0, math.sqrt(2 * 25.0)]]]), y
    y = spec.lp_pool(x, np.inf, kernel_size=2, stride=2, ceil_mode=True, partial_window="rescaled")
    assert y.tolist() == [[[4.0, 5.0]]], "p = inf: rho^(1/p) = 1"


# -- C14 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda x: spec.max_pool(x, kernel_size=2, signed_zeros="ieee"), "signed_zeros='ieee'"),
        (
            lambda x: spec.adaptive_max_pool(x, output_size=1, signed_zeros="x"),
            "signed_zeros='x'",
        ),
        (lambda x: spec.max_pool(x, kernel_size=2, empty_window="nan"), "empty_window='nan'"),
        (
            lambda x: spec.avg_pool(x, kernel_size=2, empty_window_derivative=0),
            "empty_window_derivative=0",
        ),
        (
            lambda x: spec.lp_pool(x, 2.0, kernel_size=2, partial_window="mean"),
            "partial_window='mean'",
        ),
    ],
    ids=["signed_zeros", "adaptive-signed_zeros", "empty_window", "avg", "partial_window"],
)
def test_C14_convention_options(call, what):
    x = np.ones((1, 1, 4))
    with pytest.raises(ConstraintError) as info:
        call(x)
    assert info.value.constraint == "C14" and what in str(info.value), str(info.value)
