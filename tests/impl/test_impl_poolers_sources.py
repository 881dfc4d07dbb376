"""impl and its modules follow the research poolers' sources: S3Pool's eval is the
training output's expectation, smooth max pads with zeros, the gate has a bias, Lp has
the mean form and Gumbel pooling the hard straight-through estimator.

Every reference is computed independently: all training draws enumerated, formulas
written out in plain torch, finite differences (``gradcheck``) in float64.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from ndpool import impl, spec

F64 = torch.float64


# -- S3Pool ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape,cfg",
    [
        ((1, 2, 8), {"kernel_size": 2}),
        ((1, 1, 8), {"kernel_size": 2, "grid_size": 4}),
        ((2, 1, 5, 6), {"kernel_size": 2, "grid_size": (2, 4)}),
    ],
)
def test_s3_module_eval_is_the_mean_over_every_training_draw(shape, cfg):
    x = torch.randn(shape, dtype=F64, generator=torch.Generator().manual_seed(0))
    per_axis = []
    for a in spec.s3_layout(shape, **cfg):
        grids = [itertools.combinations(range(lo, hi), a["per_grid"]) for lo, hi in a["bounds"]]
        per_axis.append([sum(pick, ()) for pick in itertools.product(*grids)])
    draws = [torch.tensor(sum(rows, ())) for rows in itertools.product(*per_axis)]
    pool = impl.S3Pool(**cfg)
    outs = [pool(x, idx) for idx in draws]
    want = sum(outs) / len(draws)
    got = pool.eval()(x)
    # each side sums at most D = len(draws) terms and divides once: within (D + 1) u M of
    # the exact expectation, M the mean of |y| over the draws (u = 2^-53)
    bound = (2 * len(draws) + 2) * 2.0**-53 * sum(y.abs() for y in outs) / len(draws)
    assert ((got - want).abs() <= bound).all(), ((got - want).abs().max(), bound.max())
    x32 = x.float().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda t: impl.s3_pool(t, mode="eval", **cfg), (x.clone().requires_grad_(),)
    )
    assert pool.eval()(x32).dtype == torch.float32


def test_s3_functional_eval_rules_on_the_worked_example():
    x = torch.tensor([[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]]])
    torch.testing.assert_close(
        impl.s3_pool(x, kernel_size=2, mode="eval"), torch.tensor([[[3.5, 4.5, 9.0, 6.0]]])
    )
    padded = impl.S3Pool(kernel_size=2, eval_rule="padded").eval()(x)
    torch.testing.assert_close(padded, torch.tensor([[[3.0, 4.0, 7.0, 7.5]]]))


# -- smooth max ------------------------------------------------------------------------------
def test_smooth_max_impl_and_module_pad_with_zeros_by_default():
    x = torch.tensor([[[-30.0, -20.0, 2.0, 1.0]]], dtype=F64)
    cfg = {"kernel_size": 3, "stride": 2, "padding": 1}

    def lse(vals, beta=0.5):
        return math.log(sum(math.exp(beta * v) for v in vals)) / beta

    want = torch.tensor([[[lse([0.0, -30.0, -20.0]), lse([-20.0, 2.0, 1.0])]]], dtype=F64)
    torch.testing.assert_close(impl.smooth_max_pool(x, 0.5, **cfg), want)
    torch.testing.assert_close(impl.SmoothMaxPool(beta=0.5, **cfg)(x), want)
    ignore = impl.smooth_max_pool(x, 0.5, padding_policy="ignore", **cfg)
    torch.testing.assert_close(ignore[0, 0, 0], torch.tensor(lse([-30.0, -20.0]), dtype=F64))


# -- gated pooling ---------------------------------------------------------------------------
def test_gated_impl_with_zero_mask_and_bias_is_mixed_pooling():
    x = torch.randn(2, 3, 9, dtype=F64)
    b = torch.tensor([0.3, -1.2, 2.0], dtype=F64)
    cfg = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    torch.testing.assert_close(
        impl.gated_pool(x, torch.zeros(3, dtype=F64), b, **cfg), impl.mixed_pool(x, b, **cfg)
    )
    omega = 0.5 * torch.randn(3, 3, dtype=F64)
    args = (x.requires_grad_(), omega.requires_grad_(), b.requires_grad_())
    assert torch.autograd.gradcheck(lambda *a: impl.gated_pool(*a, **cfg), args)


def test_gated_module_bias_and_source_initialisation():
    pool = impl.GatedPool((2, 2), num_channels=4, bias=True, init="uniform")
    assert pool.bias.shape == (4,) and pool.omega.shape == (4, 4)
    for p in (pool.omega, pool.bias):  # U(-1/sqrt(K), 1/sqrt(K)) = U(-0.5, 0.5) for 2x2
        assert p.abs().max() <= 0.5 and p.abs().max() > 0
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        pool.omega.zero_()
    want = impl.mixed_pool(x, pool.bias.detach(), kernel_size=(2, 2))
    torch.testing.assert_close(pool(x), want)
    pool(x).sum().backward()
    assert pool.bias.grad is not None and pool.bias.grad.abs().sum() > 0
    plain = impl.GatedPool((2, 2))
    assert [n for n, _ in plain.named_parameters()] == ["omega"]
    assert not plain.omega.abs().sum()


# -- Lp --------------------------------------------------------------------------------------
def test_lp_mean_impl_and_module_are_the_sources_form():
    x = torch.randn(2, 3, 7, 6, dtype=F64)
    p = 2.7
    cfg = {"kernel_size": 2, "ceil_mode": True}
    got = impl.lp_pool(x, p, reduction="mean", **cfg)
    # (mean |x|^p)^(1/p) over every 2x2 window, partial windows over their own cells
    want = torch.empty_like(got)
    for i, j in itertools.product(range(4), range(3)):
        win = x[..., 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].abs().pow(p)
        want[..., i, j] = win.mean(dim=(-2, -1)).pow(1 / p)
    torch.testing.assert_close(got, want)
    pool = impl.LpPool(p, learnable=True, reduction="mean", **cfg)
    assert pool.log_p.shape == ()  # one p for the layer
    torch.testing.assert_close(pool(x), want.to(pool(x).dtype))
    pool(x).sum().backward()
    assert pool.log_p.grad is not None
    pw = torch.tensor([1.5, 3.0, 2.2], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, q: impl.lp_pool(a, q, reduction="mean", **cfg),
        (x.abs().add(0.1).requires_grad_(), pw),
    )


# -- Gumbel pooling --------------------------------------------------------------------------
def test_gumbel_impl_hard_estimator_is_torchs_hard_gumbel_softmax():
    x = torch.tensor([[[1.0, 3.0]]], dtype=F64, requires_grad=True)
    g = torch.tensor([[[[0.2, -0.1]]]], dtype=F64)
    (hard,) = torch.autograd.grad(impl.gumbel_pool(x, 1.0, g, kernel_size=2).sum(), x)
    torch.testing.assert_close(
        hard[0, 0], torch.tensor([-0.261, 1.261], dtype=F64), atol=5e-4, rtol=0
    )
    y = impl.gumbel_pool(x, 1.0, g, kernel_size=2, estimator="soft")
    (soft,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(
        soft[0, 0], torch.tensor([-0.107, 1.107], dtype=F64), atol=5e-4, rtol=0
    )

    # the source: sum_i (h_i - stop(pi_i) + pi_i) x_i over 3-cell windows, per-channel T
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 9, dtype=F64, generator=gen)
    t = torch.tensor([0.6, 1.0, 1.7], dtype=F64)
    noise = impl.sample_gumbel((2, 3, 3, 3), generator=gen)
    xs, ts = x.clone().requires_grad_(), t.clone().requires_grad_()
    w = xs.reshape(2, 3, 3, 3)
    pi = torch.softmax(w / ts[:, None, None] + noise, dim=-1)
    hot = torch.nn.functional.one_hot(pi.argmax(-1), 3).to(F64)
    ref = ((hot - pi.detach() + pi) * w).sum(-1)
    xi, ti = x.clone().requires_grad_(), t.clone().requires_grad_()
    got = impl.gumbel_pool(xi, ti, noise, kernel_size=3)
    torch.testing.assert_close(got, ref.detach())
    cot = torch.randn(got.shape, dtype=F64, generator=gen)
    want = torch.autograd.grad(ref, (xs, ts), cot)
    for a, b in zip(torch.autograd.grad(got, (xi, ti), cot), want):
        torch.testing.assert_close(a, b)
    np.testing.assert_allclose(
        spec.vjp("gumbel_pool", (x.numpy(), t.numpy(), noise.numpy()), cot.numpy(), kernel_size=3)[
            0
        ],
        want[0].numpy(),
        rtol=1e-12,
        atol=1e-12,
    )
