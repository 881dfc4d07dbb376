"""Modules: any rank, spec values, extra_repr, state_dict round-trip, learnable params."""

from __future__ import annotations

import numpy as np
import torch
from test_impl_support import assert_matches, make_input

from ndpool import impl, spec


def test_modules_match_spec_in_4d():
    x = make_input((4, 3, 4, 5), seed=81, kind="normal")
    cfg = dict(kernel_size=2, stride=1, padding=((1, 0), 0, 0, 1))
    cases = [
        (impl.MaxPool(**cfg), spec.max_pool(x.numpy(), **cfg)),
        (impl.AvgPool(**cfg, count_include_pad=False),
         spec.avg_pool(x.numpy(), **cfg, count_include_pad=False)),
        (impl.LpPool(3.0, **cfg), spec.lp_pool(x.numpy(), 3.0, **cfg)),
        (impl.SmoothMaxPool(beta=2.0, **cfg), spec.smooth_max_pool(x.numpy(), 2.0, **cfg)),
        (impl.AdaptiveMaxPool((2, 3, 2, 2)),
         spec.adaptive_max_pool(x.numpy(), output_size=(2, 3, 2, 2))),
        (impl.AdaptiveAvgPool(2), spec.adaptive_avg_pool(x.numpy(), output_size=2)),
    ]  # fmt: skip
    for module, expected in cases:
        assert_matches(module(x), expected, exact=False, tol=1e-12, what=repr(module))


def test_extra_repr_names_the_configuration():
    assert "kernel_size=3, stride=2" in repr(impl.MaxPool(3, stride=2))
    assert "beta=[4 channels], learnable=True" in repr(
        impl.SmoothMaxPool(2, beta=0.5, learnable=True, num_channels=4)
    )
    assert "sign='signed'" in repr(impl.LpPool(2.0, 3, sign="signed"))
    assert "output_size=(2, 3)" in repr(impl.AdaptiveAvgPool((2, 3)))


def test_learnable_parameters_get_gradients_and_stay_positive():
    x = make_input((6, 6), seed=82, kind="normal").float().requires_grad_()
    smooth = impl.SmoothMaxPool(3, beta=0.5, learnable=True, num_channels=3, padding=1)
    lp = impl.LpPool(2.0, 2, learnable=True, num_channels=3)
    (smooth(x).sum() + lp(x).sum()).backward()
    for p in (smooth.log_beta, lp.log_p):
        assert p.grad is not None and p.grad.shape == (3,) and torch.isfinite(p.grad).all()
    # the gradient is the spec's d/dbeta times dbeta/dlog_beta = beta
    beta = smooth.value().detach().double()
    y_bar = np.ones((2, 3, 2, 2))
    _, ebeta = spec.vjp("smooth_max_pool", [x.detach().double().numpy(), beta.numpy()], y_bar,
                        kernel_size=3, padding=1, stride=3)  # fmt: skip
    smooth.zero_grad()
    smooth.stride = 3
    smooth(x.detach().double()).sum().backward()
    assert_matches(smooth.log_beta.grad, ebeta * beta.numpy(), exact=False, tol=1e-3)
    with torch.no_grad():
        smooth.log_beta.fill_(-50.0)
    assert (smooth.value() > 0).all()


def test_state_dict_round_trip():
    a = impl.SmoothMaxPool((2, 2, 2), beta=1.0, learnable=True, num_channels=2)
    with torch.no_grad():
        a.log_beta.copy_(torch.tensor([0.3, -0.2]))
    b = impl.SmoothMaxPool((2, 2, 2), beta=5.0, learnable=True, num_channels=2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 2, 4, 4, 4)
    assert torch.equal(a(x), b(x))
    c = impl.LpPool(1.5, 2, num_channels=2)
    d = impl.LpPool(4.0, 2, num_channels=2)
    assert set(c.state_dict()) == {"p"}
    d.load_state_dict(c.state_dict())
    assert torch.equal(c(x), d(x))
