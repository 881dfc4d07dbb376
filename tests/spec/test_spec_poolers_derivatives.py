"""Derivatives of the learnable and stochastic poolers.

1. JVP (float64) against central finite differences of the spec's forward
   evaluated with object arrays of mpmath.mpf at 40 digits (step 1e-15, so the
   difference quotient is exact to ~1e-25 and the comparison tolerance only
   covers the float64 JVP's rounding);
2. the soft straight-through estimator of gumbel_pool(mode="train") against finite
   differences of an independently written soft sample sum softmax(x/T + g)_i x_i;
3. the adjoint identity <JVP(v), u> = <v, VJP(u)> in float64 for every new op and
   every differentiable input, window-shaped parameters per layer and per channel,
   both modes, batched and unbatched; non-differentiable inputs get ``None``.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from ndpool import spec

NEW_OPS = (
    "quantile_pool",
    "median_pool",
    "mixed_pool",
    "gated_pool",
    "tree_pool",
    "stochastic_pool",
    "s3_pool",
    "gumbel_pool",
    "soft_pool",
    "gem_pool",
)

CFGS = [
    ((6,), {"kernel_size": (3,), "stride": (2,), "padding": (1,)}),
    ((3, 4), {"kernel_size": (2, 2), "stride": (1, 2), "padding": (1, 0)}),
    ((5,), {"kernel_size": (2,), "stride": (2,), "ceil_mode": True}),
]

PARAM = {  # valid, well-conditioned draws for the per-channel parameters
    "q": lambda rng, c: rng.uniform(0.15, 0.85, c),
    "alpha": lambda rng, c: rng.uniform(0.5, 3.0, c),
    "a": lambda rng, c: rng.standard_normal(c),
    "temperature": lambda rng, c: rng.uniform(0.5, 2.0, c),
    "p": lambda rng, c: rng.uniform(0.7, 4.0, c),
    "bias": lambda rng, c: rng.standard_normal(c),
}


def mp_array(a):
    a = np.asarray(a, dtype=np.float64)
    out = np.empty(a.shape, dtype=object)
    out.ravel()[:] = [mpmath.mpf(float(v)) for v in a.ravel()]
    return out


def build(name, rng, spatial, cfg, n=1, c=2, per_channel=True, positive=False):
    """Primals (one per input spec) for ``name``."""
    op = spec.OPS[name]
    x = rng.standard_normal((n, c, *spatial))
    if positive or name in ("stochastic_pool", "gem_pool"):
        x = np.abs(x) + 0.3
    k = int(np.prod(cfg["kernel_size"]))
    primals = [x]
    for s in op.input_specs[1:]:
        if s.kind == "channel":
            v = PARAM[s.name](rng, c)
            primals.append(v if per_channel else np.float64(v[0]))
        elif s.kind == "position":  # per channel and output position, or one for the layer
            out = op.output_shape(x.shape, **cfg)[2:]
            v = PARAM[s.name](rng, (c, *out))
            primals.append(v if per_channel else np.float64(v.flat[0]))
        elif s.kind == "window":
            primals.append(rng.standard_normal((c, k) if per_channel else k) * 0.7)
        else:
            primals.append(s.sampler(rng, x.shape, **cfg))
    return primals


SMOOTH = [
    ("quantile_pool", {}),
    ("mixed_pool", {}),
    ("gated_pool", {}),
    ("tree_pool", {}),
    ("soft_pool", {}),
    ("gem_pool", {}),
    ("gem_pool", {"eps": 0.0}),
    ("gumbel_pool", {"mode": "eval"}),
    ("stochastic_pool", {"mode": "eval"}),
]


@pytest.mark.parametrize("name,extra", SMOOTH, ids=[f"{n}-{e}" for n, e in SMOOTH])
@pytest.mark.parametrize("case", range(len(CFGS)))
def test_jvp_matches_mpmath_finite_differences(name, extra, case):
    spatial, cfg = CFGS[case]
    cfg = {**cfg, **extra}
    rng = np.random.default_rng(case * 101 + sum(map(ord, name)))
    op = spec.OPS[name]
    primals = build(name, rng, spatial, cfg, per_channel=case != 2)
    diff = op.differentiable
    v = [rng.standard_normal(np.shape(p)) if d else None for p, d in zip(primals, diff)]
    _, y_dot = spec.jvp(name, primals, v, **cfg)
    with mpmath.workdps(40):
        h = mpmath.mpf(10) ** -15
        prim = [mp_array(p) if d else p for p, d in zip(primals, diff)]
        tan = [mp_array(t) if t is not None else None for t in v]

        def at(sign):
            moved = [p if t is None else p + sign * h * t for p, t in zip(prim, tan)]
            return op.forward(*moved, **cfg)

        fd = np.vectorize(float, otypes=[float])((at(1) - at(-1)) / (2 * h))
    np.testing.assert_allclose(y_dot, fd, rtol=1e-11, atol=1e-11)


def test_gumbel_soft_estimator_is_the_soft_samples_derivative():
    """With ``estimator="soft"`` the train-mode JVP is d/de of sum softmax(x/T + g)_i x_i
    (not of the hard value)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 6))
    temperature = np.array([0.7, 1.6])
    cfg = {"kernel_size": (3,), "stride": (3,), "estimator": "soft"}
    g = spec.OPS["gumbel_pool"].input_specs[2].sampler(rng, x.shape, **cfg)
    vx, vt = rng.standard_normal(x.shape), rng.standard_normal(2)
    y, y_dot = spec.jvp("gumbel_pool", (x, temperature, g), (vx, vt, None), **cfg)

    def soft(e):
        out = np.empty((1, 2, 2), dtype=object)
        for ch in range(2):
            t = mpmath.mpf(temperature[ch]) + e * vt[ch]
            for o in range(2):
                cells = [
                    mpmath.mpf(x[0, ch, 3 * o + j]) + e * vx[0, ch, 3 * o + j] for j in range(3)
                ]
                w = [mpmath.exp(c / t + g[0, ch, o, j]) for j, c in enumerate(cells)]
                out[0, ch, o] = mpmath.fsum(wi * c for wi, c in zip(w, cells)) / mpmath.fsum(w)
        return out

    with mpmath.workdps(40):
        h = mpmath.mpf(10) ** -15
        fd = np.vectorize(float, otypes=[float])((soft(h) - soft(-h)) / (2 * h))
    np.testing.assert_allclose(y_dot, fd, rtol=1e-12, atol=1e-12)
    # ... while the value is the hard sample
    scores = x.reshape(1, 2, 2, 3) / temperature[None, :, None, None] + g
    hard = np.take_along_axis(x.reshape(1, 2, 2, 3), scores.argmax(-1)[..., None], -1)[..., 0]
    np.testing.assert_array_equal(y, hard)


ADJOINT_CASES = [
    (name, mode, per_channel, unbatched)
    for name in NEW_OPS
    for mode in (
        ("train", "eval") if name in ("stochastic_pool", "gumbel_pool", "s3_pool") else (None,)
    )
    for per_channel in (True, False)
    for unbatched in (False, True)
]


@pytest.mark.parametrize("name,mode,per_channel,unbatched", ADJOINT_CASES)
def test_adjoint_identity_float64(name, mode, per_channel, unbatched):
    rng = np.random.default_rng(sum(map(ord, name)) + 7 * per_channel + 3 * unbatched)
    op = spec.OPS[name]
    if name == "s3_pool":
        spatial, cfg = (8, 6), {"kernel_size": (2, 2), "grid_size": (4, 2)}
    else:
        spatial, cfg = CFGS[1]
    if mode is not None:
        cfg = {**cfg, "mode": mode}
    primals = build(name, rng, spatial, cfg, per_channel=per_channel)
    if name == "median_pool" or (name, mode) == ("stochastic_pool", "train"):
        primals[0] = np.round(primals[0] * 2) / 2  # ties
    if unbatched:
        primals = [
            p[0] if s.kind in ("x", "output", "cell") else p
            for p, s in zip(primals, op.input_specs)
        ]
    diff = op.differentiable
    v = [rng.standard_normal(np.shape(p)) if d else None for p, d in zip(primals, diff)]
    y, y_dot = spec.jvp(name, primals, v, **cfg)
    u = rng.standard_normal(y.shape)
    bars = spec.vjp(name, primals, u, **cfg)
    assert len(bars) == len(primals)
    for b, p, d in zip(bars, primals, diff):
        if d:
            assert np.shape(b) == np.shape(p)
        else:
            assert b is None
    lhs = float(np.sum(y_dot * u))
    rhs = sum(float(np.sum(t * b)) for t, b in zip(v, bars) if t is not None)
    scale = float(np.sum(np.abs(y_dot * u))) + sum(
        float(np.sum(np.abs(t * b))) for t, b in zip(v, bars) if t is not None
    )
    assert abs(lhs - rhs) <= 1e-13 * scale, (lhs, rhs)
    assert np.isfinite(lhs)
    # a zero tangent for a non-differentiable input is the same as None
    v0 = [
        t if d else (None if p is None else np.zeros_like(np.asarray(p, dtype=float)))
        for t, p, d in zip(v, primals, diff)
    ]
    if name != "s3_pool":
        np.testing.assert_array_equal(spec.jvp(name, primals, v0, **cfg)[1], y_dot)


@pytest.mark.parametrize("name", ["tree_pool", "gated_pool"])
def test_filter_derivatives_at_subnormal_cells_are_rounded_once(name):
    """The derivatives for the learned filters are (coefficient x cotangent x cell): with a
    subnormal cell, rounding coefficient x cell first would lose it (0.5 x 5e-324 is 0),
    so the float64 spec must equal its own 40-digit evaluation rounded once."""
    x = np.array([[-5e-324, 1.0]])  # a subnormal cell beside a normal one
    k = 2
    if name == "tree_pool":
        params = (np.full(k, 0.1257302210933933), np.full(k, 0.3), np.full(k, 0.0628))
    else:
        params = (np.full(k, 0.0628), None)
    y_bar = np.array([[20.938403079298705]])
    cfg = {"kernel_size": (k,)}
    got = spec.vjp(name, (x, *params), y_bar, **cfg)
    with mpmath.workdps(40):
        exact = spec.vjp(
            name,
            (mp_array(x), *(None if p is None else mp_array(p) for p in params)),
            mp_array(y_bar),
            **cfg,
        )
    for g, e in list(zip(got, exact))[1:]:  # the filters' (x's is a sum, rounded more)
        if g is None:
            continue
        want = np.array([float(v) for v in np.ravel(e)]).reshape(np.shape(g))
        np.testing.assert_array_equal(g, want)
