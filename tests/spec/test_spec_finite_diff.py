"""JVPs against central finite differences in 50-digit mpmath.

The smooth ops accept object arrays of ``mpmath.mpf``; the finite difference
``(f(x + h v) - f(x - h v)) / 2h`` is taken with the spec's own forward on such
arrays (a forward pass is checked against the naive loop reference elsewhere),
and the spec's JVP is evaluated in the same precision.

Tolerance (mpmath, 50 digits, ``h = 1e-15``): the central difference has a
truncation error ``h^2/6 |f'''|`` and a rounding error ``~ 10^-50 / h``. With
inputs kept away from 0 (``|x| >= 0.25``), ``p <= 4`` and ``beta <= 3`` the third
derivatives along a unit-scale direction are far below ``10^4``, so the
difference is the derivative to ``~ 10^-26``; we allow ``1e-20 (1 + |fd|)``.

The float64 JVP is then held to the first-order error bound of evaluating it:
each partial derivative is a composition of at most ~10 correctly rounded
operations whose arguments carry a relative error amplified by at most
``A = 1 + beta * (|x| + |y|)`` (exp) or ``1 + p |log r|`` (pow), and the JVP sums
``K`` such terms, so ``|jvp64 - exact| <= (K + 10 A) u * sum_k |J_k v_k|``
plus, for the parameter term, the same with ``|y| / p * (1 + |log y|)``.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from spec_helpers import U, random_adaptive_config, random_sliding_config

from ndpool import spec

DPS = 50
H = mpmath.mpf("1e-15")
CASES = 5
SMOOTH = {
    "avg_pool": (),
    "adaptive_avg_pool": (),
    "lp_pool": ("norm_type",),
    "smooth_max_pool": ("beta",),
}


def mp_array(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    out = np.empty(a.shape, dtype=object)
    out.ravel()[:] = [mpmath.mpf(float(v)) for v in a.ravel()]
    return out


def to_float(a) -> np.ndarray:
    return np.vectorize(float, otypes=[np.float64])(np.asarray(a, dtype=object))


def _case(rng, name, d):
    op = spec.OPS[name]
    spatial, cfg = (random_adaptive_config if op.adaptive else random_sliding_config)(
        rng, d, spatial_max=4
    )
    x = rng.uniform(0.25, 2.0, (1, 2, *spatial)) * rng.choice([-1.0, 1.0], (1, 2, *spatial))
    params = []
    if name == "avg_pool":
        cfg["count_include_pad"] = bool(rng.random() < 0.5)
    if name == "lp_pool":
        cfg["sign"] = str(rng.choice(["abs", "signed"]))
        if cfg["sign"] == "signed":
            x = np.abs(x)  # the signed convention is differentiable in p for x > 0
        params.append(float(rng.choice([1.0, 1.5, 2.0, 3.0, 4.0, 0.75])))
    if name == "smooth_max_pool":
        cfg["padding_policy"] = str(rng.choice(["ignore", "zero"]))
        params.append(float(rng.choice([0.5, 1.0, 3.0])))
    return x, params, cfg


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_jvp_matches_mpmath_finite_differences(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    with mpmath.workdps(DPS):
        for i in range(CASES):
            x, params, cfg = _case(rng, name, 1 + i % 3)
            v = [rng.standard_normal(x.shape)] + [float(rng.standard_normal()) for _ in params]
            primals = [mp_array(x)] + [mpmath.mpf(p) for p in params]
            tangents = [mp_array(v[0])] + [mpmath.mpf(t) for t in v[1:]]
            plus = [p + H * t for p, t in zip(primals, tangents)]
            minus = [p - H * t for p, t in zip(primals, tangents)]
            op = spec.OPS[name]
            fd = (op.forward(*plus, **cfg) - op.forward(*minus, **cfg)) / (2 * H)
            _, jvp_mp = spec.jvp(name, primals, tangents, **cfg)
            assert jvp_mp.dtype == object and isinstance(jvp_mp.ravel()[0], mpmath.mpf)
            # an empty window (count_include_pad=False, dilation) is NaN: no derivative
            defined = np.isfinite(to_float(op.forward(*primals, **cfg)))
            fd = np.where(defined, fd, jvp_mp)
            err = np.abs(jvp_mp - fd)
            ok = err <= mpmath.mpf("1e-20") * (1 + np.abs(fd))
            assert ok.all(), (
                f"{name} cfg={cfg} params={params}: mpmath JVP differs from the central "
                f"difference by up to {mpmath.nstr(max(err.ravel()), 5)}"
            )
            # float64 JVP against the exact derivative, within its first-order error bound
            y64, jvp64 = spec.jvp(name, [x, *params], [v[0], *v[1:]], **cfg)
            exact = to_float(fd)
            absx = np.abs(x)
            _, jvp_abs = spec.jvp(name, [x, *params], [np.abs(v[0]), *[0.0] * len(params)], **cfg)
            if name == "lp_pool":
                _, jvp_abs = spec.jvp(
                    name, [absx, *params], [np.abs(v[0]), 0.0], **{**cfg, "sign": "abs"}
                )
            k = max(1, int(np.count_nonzero(op.geometry(x.shape, **cfg).real)))
            amp = 1.0
            param_term = 0.0
            if name == "smooth_max_pool":
                amp = 1 + params[0] * (absx.max() + np.abs(y64).max())
                param_term = np.abs(v[1]) * (absx.max() + np.abs(y64)) / params[0]
            if name == "lp_pool":
                amp = 1 + params[0] * abs(np.log(0.25 / 2.0))
                with np.errstate(divide="ignore", invalid="ignore"):  # y = 0: dy/dp = 0
                    param_term = np.where(
                        y64 == 0,
                        0.0,
                        np.abs(v[1]) * np.abs(y64) / params[0] * (1 + np.abs(np.log(np.abs(y64)))),
                    )
            bound = (k + 10 * amp) * U * (np.abs(jvp_abs) + param_term)
            assert (np.abs(jvp64 - exact) <= bound).all(), (
                f"{name} cfg={cfg} params={params}: float64 JVP off by "
                f"{np.abs(jvp64 - exact).max():.3g} (bound {np.min(bound):.3g})"
            )


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_object_arrays_forward_and_vjp(name):
    """mpf inputs give mpf outputs equal to float64 ones, and a VJP adjoint to 40 digits."""
    rng = np.random.default_rng(7 + len(name))
    with mpmath.workdps(DPS):
        x, params, cfg = _case(rng, name, 2)
        primals = [mp_array(x)] + [mpmath.mpf(p) for p in params]
        y_mp = spec.OPS[name].forward(*primals, **cfg)
        y64 = spec.OPS[name].forward(x, *params, **cfg)
        assert y_mp.dtype == object and all(isinstance(v, mpmath.mpf) for v in y_mp.ravel())
        assert np.allclose(to_float(y_mp), y64, rtol=64 * U, atol=0)
        v = [mp_array(rng.standard_normal(x.shape))] + [mpmath.mpf(1.5) for _ in params]
        u = mp_array(rng.standard_normal(y64.shape))
        _, y_dot = spec.jvp(name, primals, v, **cfg)
        bars = spec.vjp(name, primals, u, **cfg)
        assert all(b.dtype == object for b in bars)
        lhs = mpmath.fsum((y_dot * u).ravel())
        rhs = mpmath.fsum(mpmath.fsum(np.ravel(t * b)) for t, b in zip(v, bars))
        assert abs(lhs - rhs) <= mpmath.mpf("1e-40") * (1 + abs(lhs)), (name, lhs, rhs)


@pytest.mark.parametrize("name", ["max_pool", "adaptive_max_pool"])
def test_max_jvp_matches_finite_differences_with_a_unique_maximum(name):
    """Distinct values 1 apart: every window's maximum wins by a margin of >= 1, so the
    op is linear within h |v| < 1/2 and the mpmath central difference is exact."""
    rng = np.random.default_rng(3)
    op = spec.OPS[name]
    with mpmath.workdps(DPS):
        for i in range(2 * CASES):
            d = 1 + i % 4
            gen = random_adaptive_config if op.adaptive else random_sliding_config
            spatial, cfg = gen(rng, d, spatial_max=4)
            shape = (2, 1, *spatial)
            x = rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64) - 7.0
            v = rng.uniform(-1, 1, shape)
            h = mpmath.mpf("0.25")
            plus = op.forward(mp_array(x) + h * mp_array(v), **cfg)
            minus = op.forward(mp_array(x) - h * mp_array(v), **cfg)
            fd = to_float((plus - minus) / (2 * h))
            _, y_dot = spec.jvp(name, (x,), (v,), **cfg)
            finite = np.isfinite(op.forward(x, **cfg))  # windows with no real cell: -inf
            assert np.array_equal(np.where(finite, y_dot, 0), np.where(finite, fd, 0)), (
                f"{name} x.shape={shape} cfg={cfg}"
            )
