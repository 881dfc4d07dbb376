"""Lp corners the 20-seed quiet run found: an infinite signed window under a fractional
p (IEEE pow at -inf, as the spec), and a zero cotangent meeting a NaN window under
torch.func (no p contribution, the spec's rule)."""

import numpy as np
import pytest
import torch
from torch.func import vjp

from ndpool import impl, spec


@pytest.mark.parametrize("p", [0.5, 1.5, 3.0, 1 / 3])
@pytest.mark.parametrize(
    "cells",
    [
        [-np.inf],
        [0.0, 1.0, 3.0, -np.inf],
        [-np.inf, np.inf],
        [1.7555597020139802e305, -3.0, -np.inf],
    ],
)
def test_signed_window_with_neg_inf(p, cells):
    x = np.array([[cells]])
    want = spec.lp_pool(x, p, kernel_size=len(cells), sign="signed")
    for norm in (p, torch.tensor(p, dtype=torch.float64)):
        got = impl.lp_pool(torch.from_numpy(x), norm, kernel_size=len(cells), sign="signed")
        np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_zero_cotangent_on_nan_window_gives_no_p_contribution(dtype):
    x = torch.tensor([[2.0, -2.0]], dtype=dtype)
    p = torch.tensor(0.5, dtype=dtype)

    def f(x, p):
        return impl.lp_pool(x, p, kernel_size=(1,), sign="signed")

    y, pullback = vjp(f, x, p)
    x_bar, p_bar = pullback(torch.zeros_like(y))
    want = spec.vjp(
        "lp_pool",
        (x.double().numpy(), p.double().numpy()),
        np.zeros(tuple(y.shape)),
        kernel_size=(1,),
        sign="signed",
    )
    np.testing.assert_array_equal(x_bar.double().numpy(), want[0])
    assert float(p_bar) == float(want[1]) == 0.0


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_signed_window_that_cancels_exactly(p):
    """3^p - 1 - 3^p + 1 = 0 exactly (integer p): the spec's scaled sum must stay 0 (its
    scale is a power of two, so the division is exact), and rule 1 then makes the
    p-derivative 0; the impl agrees, under torch.func as in eager mode."""
    x = np.array([3.0, -1.0, -3.0, 1.0]).reshape((1, 1, 4))
    y = spec.lp_pool(x, p, kernel_size=4, sign="signed")
    assert y.item() == 0.0
    cot = np.ones_like(y)
    _, p_bar = spec.vjp("lp_pool", (x, np.array(p)), cot, kernel_size=4, sign="signed")
    assert p_bar == 0.0

    def f(x, p):
        return impl.lp_pool(x, p, kernel_size=4, sign="signed")

    xt, pt = torch.from_numpy(x), torch.tensor(p, dtype=torch.float64)
    y_t, pullback = vjp(f, xt, pt)
    assert y_t.item() == 0.0
    x_bar, p_bar_t = pullback(torch.ones_like(y_t))
    assert p_bar_t.item() == 0.0
    want = spec.vjp("lp_pool", (x, np.array(p)), cot, kernel_size=4, sign="signed")[0]
    np.testing.assert_array_equal(x_bar.numpy(), want)


def test_infinite_window_ignores_finite_overflow():
    """Next to a -inf cell a huge finite cell is negligible: its power (which overflows
    float64) must not add +inf and turn the sum NaN; (-inf)^3 = -inf, and IEEE pow gives
    (-inf)^(1/3) = +inf. The quiet run found the spec making this window NaN."""
    x = np.array([[[1.7555597020139802e305, -3.0, -np.inf]]])
    want = spec.lp_pool(x, 3.0, kernel_size=3, sign="signed")
    assert want.item() == np.inf
    got = impl.lp_pool(torch.from_numpy(x), 3.0, kernel_size=3, sign="signed")
    assert got.item() == np.inf
