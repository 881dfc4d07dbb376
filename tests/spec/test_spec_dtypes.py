"""float16 / float32 inputs: the spec computes in float64 and rounds once to the input dtype.

The float64 reference is the naive loop oracle; rounding it to the narrow type
must give the spec's narrow result exactly (a float64 error of a few units in
the 53rd bit can only change the rounding to 11 or 24 bits when the value sits
within that distance of a rounding boundary: about 2^-29 per element, and the
seeds below are fixed).
"""

from __future__ import annotations

import naive_reference as naive
import numpy as np
import pytest
from spec_helpers import assert_same, random_sliding_config

from ndpool import spec

NARROW = (np.float16, np.float32)


@pytest.mark.parametrize("dtype", NARROW, ids=["float16", "float32"])
@pytest.mark.parametrize("name", ["max_pool", "avg_pool", "lp_pool", "smooth_max_pool"])
def test_narrow_result_is_the_float64_result_rounded_once(name, dtype):
    rng = np.random.default_rng(5)
    for i in range(6):
        spatial, cfg = random_sliding_config(rng, 1 + i % 3)
        x = (rng.standard_normal((1, 2, *spatial)) * 3).astype(dtype)
        x64 = x.astype(np.float64)
        if name == "max_pool":
            expect = naive.max_pool(x64, **cfg)[0]
            got = spec.max_pool(x, **cfg)
        elif name == "avg_pool":
            expect = naive.avg_pool(x64, **cfg)
            got = spec.avg_pool(x, **cfg)
        elif name == "lp_pool":
            expect = naive.lp_pool(x64, 2.5, **cfg)
            got = spec.lp_pool(x, 2.5, **cfg)
        else:
            expect = naive.smooth_max_pool(x64, 2.0, **cfg)
            got = spec.smooth_max_pool(x, 2.0, **cfg)
        assert got.dtype == dtype, f"{name}: output dtype {got.dtype} for a {dtype} input"
        assert_same(got, expect.astype(dtype), f"{name} {np.dtype(dtype)} cfg={cfg}")


@pytest.mark.parametrize("dtype", NARROW, ids=["float16", "float32"])
def test_narrow_vjp_and_jvp_are_rounded_once(dtype):
    rng = np.random.default_rng(6)
    for i in range(6):
        spatial, cfg = random_sliding_config(rng, 1 + i % 3)
        x = rng.standard_normal((1, 2, *spatial)).astype(dtype)
        y = spec.avg_pool(x, **cfg)
        y_bar = rng.standard_normal(y.shape).astype(dtype)
        (x_bar,) = spec.vjp("avg_pool", (x,), y_bar, **cfg)
        expect = naive.avg_pool_vjp(x.astype(np.float64), y_bar.astype(np.float64), **cfg)
        assert x_bar.dtype == dtype
        assert_same(x_bar, expect.astype(dtype), f"avg_pool VJP {np.dtype(dtype)} cfg={cfg}")
        v = rng.standard_normal(x.shape).astype(dtype)
        _, y_dot = spec.jvp("avg_pool", (x,), (v,), **cfg)
        assert y_dot.dtype == dtype
        assert_same(y_dot, naive.avg_pool(v.astype(np.float64), **cfg).astype(dtype), "JVP")


def test_hand_worked_float32_mean_differs_from_float32_arithmetic():
    # [1, 2^-24, 2^-24, 2^-24] / 4: exact 0.25 + 3 * 2^-26, which rounds (a tie between
    # 0.25 + 2^-25 and 0.25 + 2^-24, to the even significand) to 0.25 + 2^-24 in float32.
    # Summing in float32 would lose every 2^-24 (1 + 2^-24 rounds to 1) and give 0.25.
    t = np.float32(2.0**-24)
    x = np.array([[[1.0, t, t, t]]], dtype=np.float32)
    y = spec.avg_pool(x, kernel_size=4)
    assert y.dtype == np.float32
    assert y.item() == 0.25 + 2.0**-24
    assert (np.float32(1) + t + t + t) / np.float32(4) == np.float32(0.25)


def test_hand_worked_float16_smooth_max_does_not_overflow():
    # float16 tops out at 65504; exp(beta x) would overflow in any narrow evaluation, the
    # stable float64 evaluation gives 60000 + log(2) / 1, rounded to float16: 60000.
    x = np.array([[[60000.0, 60000.0]]], dtype=np.float16)
    y = spec.smooth_max_pool(x, 1.0, kernel_size=2)
    assert y.dtype == np.float16 and y.item() == 60000.0
