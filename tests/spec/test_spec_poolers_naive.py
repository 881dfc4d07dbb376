"""The learnable and stochastic poolers against naive loop references (poolers_naive.py).

Selection ops (median, stochastic train, gumbel train, s3 train) must match
exactly, indices and derivatives included; the smooth ops match a loop written
from the formula to a few ulps of the window's scale.
"""

from __future__ import annotations

import numpy as np
import poolers_naive as naive
import pytest

from ndpool import spec

CFGS = [
    ((7,), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((6,), {"kernel_size": (2,), "stride": (1,)}),
    ((5,), {"kernel_size": 2, "stride": 2, "ceil_mode": True}),
    ((5,), {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 2}),
    ((4, 5), {"kernel_size": (2, 3), "stride": (2, 1), "padding": (1, 1)}),
    ((3, 3), {"kernel_size": (3, 2), "stride": 1, "dilation": (1, 2), "ceil_mode": True}),
    ((3, 2, 3), {"kernel_size": (2, 2, 2), "stride": 1, "padding": (0, 1, 1)}),
]


def _x(rng, spatial, kind="grid", n=2, c=3):
    shape = (n, c, *spatial)
    if kind == "grid":
        return rng.integers(-3, 4, shape).astype(np.float64)  # ties
    return rng.standard_normal(shape)


@pytest.mark.parametrize("case", range(len(CFGS)))
def test_median_pool_matches_loop(case):
    spatial, cfg = CFGS[case]
    rng = np.random.default_rng(case)
    for kind in ("grid", "normal"):
        x = _x(rng, spatial, kind)
        if case == 1 and kind == "grid":
            x.ravel()[::5] = np.nan
        y, idx = spec.median_pool(x, return_indices=True, **cfg)
        ref, ref_idx = naive.median_pool(x, **cfg)
        np.testing.assert_array_equal(y, ref)
        np.testing.assert_array_equal(idx, ref_idx)
        # the VJP puts the cotangent on the selected cell, the JVP reads it
        y_bar = rng.standard_normal(y.shape)
        (x_bar,) = spec.vjp("median_pool", (x,), y_bar, **cfg)
        x_dot = rng.standard_normal(x.shape)
        _, y_dot = spec.jvp("median_pool", (x,), (x_dot,), **cfg)
        expect = np.zeros(x.shape)
        for pos in np.ndindex(*y.shape):
            if ref_idx[pos] >= 0:
                cell = pos[:2] + np.unravel_index(ref_idx[pos], x.shape[2:])
                expect[cell] += y_bar[pos]
                assert y_dot[pos] == x_dot[cell]
            else:
                assert y_dot[pos] == 0
        np.testing.assert_allclose(x_bar, expect, rtol=1e-14, atol=0)
        unb = spec.median_pool(
            x[0], **{**cfg, "kernel_size": _tup(cfg["kernel_size"], len(spatial))}
        )
        np.testing.assert_array_equal(unb, y[0])


def _tup(k, d):
    return (k,) * d if isinstance(k, int) else k


def test_median_of_two_is_min_pooling():
    x = np.random.default_rng(0).standard_normal((2, 3, 9))
    np.testing.assert_array_equal(
        spec.median_pool(x, kernel_size=2, stride=1), np.minimum(x[..., :-1], x[..., 1:])
    )


@pytest.mark.parametrize("case", range(len(CFGS)))
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_stochastic_pool_matches_loop(case, mode):
    spatial, cfg = CFGS[case]
    rng = np.random.default_rng(10 + case)
    x = np.abs(_x(rng, spatial, "grid"))  # zeros: all-zero windows and zero-probability cells
    x[0, 0] = 0.0
    u = spec.OPS["stochastic_pool"].input_specs[1].sampler(rng, x.shape, **cfg)
    y = spec.stochastic_pool(x, u, mode=mode, **cfg)
    ref = naive.stochastic_pool(x, u, mode=mode, **cfg)
    if mode == "train":
        np.testing.assert_array_equal(y, ref)
    else:
        np.testing.assert_allclose(y, ref, rtol=4e-16 * 16, atol=0)
    assert (y[0, 0] == 0).all()


@pytest.mark.parametrize("case", range(len(CFGS)))
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gumbel_pool_matches_loop(case, mode):
    spatial, cfg = CFGS[case]
    rng = np.random.default_rng(20 + case)
    x = _x(rng, spatial, "normal")
    temperature = rng.uniform(0.3, 2.0, x.shape[1])
    g = spec.OPS["gumbel_pool"].input_specs[2].sampler(rng, x.shape, **cfg)
    y = spec.gumbel_pool(x, temperature, g, mode=mode, **cfg)
    ref = naive.gumbel_pool(x, temperature, g, mode=mode, **cfg)
    if mode == "train":
        np.testing.assert_array_equal(y, ref)
    else:
        np.testing.assert_allclose(y, ref, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize(
    ("spatial", "cfg"),
    [
        ((8,), {"kernel_size": 2, "grid_size": 4}),
        ((9,), {"kernel_size": 3, "stride": 2, "grid_size": 2}),
        ((8, 6), {"kernel_size": 2, "grid_size": (4, 2)}),
        ((6, 8), {"kernel_size": (2, 3), "stride": (2, 1), "grid_size": (2, 3)}),
    ],
)
@pytest.mark.parametrize(
    "mode,rule", [("train", "expectation"), ("eval", "expectation"), ("eval", "padded")]
)
def test_s3_pool_matches_loop(spatial, cfg, mode, rule):
    rng = np.random.default_rng(len(spatial) + cfg["kernel_size"].__hash__() % 7)
    x = _x(rng, spatial, "grid")
    idx = spec.s3_sample_indices(rng, x.shape, **cfg)
    y = spec.s3_pool(x, idx, mode=mode, eval_rule=rule, **cfg)
    ref = naive.s3_pool(x, idx, mode=mode, eval_rule=rule, **cfg)
    if mode == "train":
        np.testing.assert_array_equal(y, ref)
    else:
        np.testing.assert_allclose(y, ref, rtol=1e-13, atol=1e-13)
    out = spec.OPS["s3_pool"].output_shape(x.shape, mode=mode, eval_rule=rule, **cfg)
    assert y.shape == out


@pytest.mark.parametrize("case", range(len(CFGS)))
def test_smooth_poolers_match_loops(case):
    spatial, cfg = CFGS[case]
    rng = np.random.default_rng(30 + case)
    x = _x(rng, spatial, "normal")
    c = x.shape[1]
    k = int(np.prod(_tup(cfg["kernel_size"], len(spatial))))

    def close(y, ref, scale=1.0):
        np.testing.assert_allclose(y, ref, rtol=1e-13, atol=1e-13 * scale)

    close(spec.soft_pool(x, **cfg), naive.soft_pool(x, **cfg))
    p = rng.uniform(0.5, 4.0, c)
    close(spec.gem_pool(x, p, **cfg), naive.gem_pool(x, p, **cfg))
    close(spec.gem_pool(x, 2.5, eps=0.0, **cfg), naive.gem_pool(x, 2.5, eps=0.0, **cfg))
    a = rng.standard_normal(c)
    close(spec.mixed_pool(x, a, **cfg), naive.mixed_pool(x, a, **cfg))
    for omega in (rng.standard_normal(k), rng.standard_normal((c, k))):
        close(spec.gated_pool(x, omega, **cfg), naive.gated_pool(x, omega, **cfg))
        for bias in (0.75, rng.standard_normal(c)):
            close(spec.gated_pool(x, omega, bias, **cfg), naive.gated_pool(x, omega, bias, **cfg))
    v1, v2, om = rng.standard_normal(k), rng.standard_normal((c, k)), rng.standard_normal(k)
    close(spec.tree_pool(x, v1, v2, om, **cfg), naive.tree_pool(x, v1, v2, om, **cfg))


@pytest.mark.parametrize("case", [0, 4])
def test_quantile_pool_matches_independent_root(case):
    spatial, cfg = CFGS[case]
    rng = np.random.default_rng(40 + case)
    x = _x(rng, spatial, "normal", n=1, c=2)
    q, alpha = np.array([0.3, 0.85]), np.array([2.0, 0.7])
    y = spec.quantile_pool(x, q, alpha, **cfg)
    ref = naive.quantile_pool(x, q, alpha, **cfg)
    np.testing.assert_allclose(y, ref, rtol=4e-15, atol=4e-15)
