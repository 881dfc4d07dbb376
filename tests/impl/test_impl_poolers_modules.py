"""The issue-6 modules: forward equals the spec at the module's parameter values and its
own draws (draw by draw), learnable parameters get gradients and stay in range,
state_dict round-trips, train vs eval, extra_repr, and use inside a model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_impl_poolers_support import (
    assert_close,
    derivative_tolerance,
    forward_tolerance,
    is_exact,
    to_numpy,
)

from ndpool import impl, spec

CFG = dict(kernel_size=(3, 2), stride=2, padding=1)
C = 3

# name -> (constructor, spec op, the module's spec-order parameters, train-mode draw kind)
MODULES = {
    "QuantilePool": (
        lambda: impl.QuantilePool(q=0.3, alpha=2.0, num_channels=C, **CFG),
        "quantile_pool",
        lambda m: [m.constrained("q"), m.constrained("alpha")],
    ),
    "MedianPool": (lambda: impl.MedianPool(**CFG), "median_pool", lambda m: []),
    "MixedPool": (
        lambda: impl.MixedPool(a=0.4, num_channels=C, **CFG),
        "mixed_pool",
        lambda m: [m.a],
    ),
    "GatedPool": (lambda: impl.GatedPool(num_channels=C, **CFG), "gated_pool", lambda m: [m.omega]),
    "TreePool": (lambda: impl.TreePool(**CFG), "tree_pool", lambda m: [m.v1, m.v2, m.omega]),
    "StochasticPool": (lambda: impl.StochasticPool(**CFG), "stochastic_pool", lambda m: []),
    "GumbelPool": (
        lambda: impl.GumbelPool(
            temperature=0.7, num_channels=C, parametrization="exp", init="constant", **CFG
        ),
        "gumbel_pool",
        lambda m: [m.constrained("temperature")],
    ),
    # the source's layer, by default: T = relu(raw) + 0.1 per channel and output position
    # ((8+2-3)//2+1, (8+2-2)//2+1 = (4, 5) on the 8 x 8 inputs), raw from 1 x U(0.5, 1.5)
    "GumbelPool/source": (
        lambda: impl.GumbelPool(num_channels=C, positions=(4, 5), **CFG),
        "gumbel_pool",
        lambda m: [m.constrained("temperature")],
    ),
    "SoftPool": (lambda: impl.SoftPool(**CFG), "soft_pool", lambda m: []),
    "GeMPool": (lambda: impl.GeMPool(p=2.5, **CFG), "gem_pool", lambda m: [m.constrained("p")]),
    "S3Pool": (
        lambda: impl.S3Pool(kernel_size=2, grid_size=4),
        "s3_pool",
        lambda m: [],
    ),
}
NAMES = list(MODULES)
RANDOM = ("StochasticPool", "GumbelPool", "GumbelPool/source", "S3Pool")
MODE_OPS = ("stochastic_pool", "gumbel_pool", "s3_pool")


def _x(name, seed=0, shape=(2, C, 8, 8)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    return x.abs() if name in ("StochasticPool", "GeMPool") else x


def _cfg(module, op):
    if op == "s3_pool":
        return module._s3()
    return module._geometry()


def _spec_out(op, x, params, draw, cfg, mode):
    args = [to_numpy(p).astype(np.float64) for p in params]
    if op in MODE_OPS:
        cfg = {**cfg, "mode": mode}
        args.append(None if draw is None else to_numpy(draw))
    return spec.OPS[op].function(to_numpy(x), *args, **cfg), cfg, args


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_module_matches_spec_draw_by_draw(name, mode):
    """The module's output is the spec's at the module's parameter values and at the
    draw the module takes from its generator (replayed by re-seeding the generator)."""
    make, op, params_of = MODULES[name]
    m = make()
    m.train(mode == "train")
    x = _x(name)
    draw = None
    if name in RANDOM:
        m.generator = torch.Generator().manual_seed(123)
        draw = m.draw(x) if mode == "train" else None
        m.generator.manual_seed(123)
    y = m(x)
    expected, cfg, args = _spec_out(op, x, params_of(m), draw, _cfg(m, op), mode)
    dq = None
    if op == "quantile_pool":
        t = (np.zeros(x.shape), np.ones(C), np.zeros(C))
        dq = spec.jvp(op, (to_numpy(x), *args), t, **cfg)[1]
    tol = forward_tolerance(op, to_numpy(x), args, cfg, expected, torch.float64, dq)
    exact = is_exact(op, mode if op in MODE_OPS else None)
    assert_close(y, expected, tol, f"{name} {mode}", exact=exact)


@pytest.mark.parametrize("name", [n for n in NAMES if list(MODULES[n][0]().parameters())])
def test_learnable_parameters_get_the_spec_gradient(name):
    """Backward through the module reaches every learnable parameter; for the directly
    stored ones the gradient is the spec's VJP (the constrained ones chain through
    exp / sigmoid, checked by the chain rule)."""
    make, op, params_of = MODULES[name]
    m = make().double()
    x = _x(name)
    if name.startswith("GumbelPool"):
        m.generator = torch.Generator().manual_seed(1)
    y = m(x)
    y_bar = torch.randn(y.shape, generator=torch.Generator().manual_seed(2), dtype=y.dtype)
    (y * y_bar).sum().backward()
    raw = dict(m.named_parameters())
    assert raw, name
    for pname, p in raw.items():
        assert p.grad is not None and torch.isfinite(p.grad).all(), f"{name}.{pname}"
        assert p.grad.abs().sum() > 0, f"{name}.{pname}: zero gradient"
    if name.startswith("GumbelPool"):
        return  # its draw is not replayed here; covered by the functional VJP tests
    values = params_of(m)
    primals = (to_numpy(x), *[to_numpy(v) for v in values])
    cfg = _cfg(m, op)
    bars = spec.vjp(op, primals, to_numpy(y_bar), **cfg)[1:]
    for (pname, p), v, bar in zip(raw.items(), values, bars):
        # d/draw = d/dvalue * dvalue/draw: exp' = value, sigmoid' = value (1 - value)
        chain = {"log_": v, "logit_": v * (1 - v)}.get(pname.split("_")[0] + "_", 1.0)
        expected = bar * to_numpy(torch.as_tensor(chain)).astype(np.float64)
        tol = derivative_tolerance(op, primals[0], primals[1:], cfg, expected)
        assert_close(p.grad, expected, tol, f"{name}.{pname} gradient")


@pytest.mark.parametrize(
    "name,raw",
    [
        ("QuantilePool", "logit_q"),
        ("QuantilePool", "log_alpha"),
        ("GumbelPool", "log_temperature"),
        ("GumbelPool/source", "raw_temperature"),
        ("GeMPool", "log_p"),
    ],
)
@pytest.mark.parametrize("value", [-800.0, -60.0, 60.0, 800.0])
def test_parameters_stay_in_range(name, raw, value):
    """Any raw value maps into the parameter's domain: the forward never raises C17/C19/C20."""
    make, _, _ = MODULES[name]
    m = make()
    with torch.no_grad():
        getattr(m, raw).fill_(value)
    v = m.constrained(raw.split("_", 1)[1])
    assert torch.isfinite(v).all() and (v > 0).all()
    if raw == "logit_q":
        assert (v < 1).all()
    y = m(_x(name).abs() + 0.5)
    assert y.shape[:2] == (2, C)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name):
    make, _, _ = MODULES[name]
    a, b = make(), make()
    with torch.no_grad():
        for p in a.parameters():
            p.add_(0.25)
    b.load_state_dict(a.state_dict())
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    a.eval()
    b.eval()
    x = _x(name, seed=3)
    ya, yb = a(x), b(x)
    ya, yb = (ya[0], yb[0]) if isinstance(ya, tuple) else (ya, yb)
    assert torch.equal(ya, yb), name


@pytest.mark.parametrize("name", RANDOM)
def test_generator_reproducible_and_modes(name):
    """Train draws follow the generator (same seed, same output; the next draw differs);
    eval is deterministic and matches the spec's eval mode."""
    make, op, params_of = MODULES[name]
    m = make()
    x = _x(name, seed=4)
    m.generator = torch.Generator().manual_seed(7)
    y1, y2 = m(x), m(x)
    m.generator.manual_seed(7)
    assert torch.equal(m(x), y1)
    assert not torch.equal(y1, y2)
    m.eval()
    expected, _, _ = _spec_out(op, x, params_of(m), None, _cfg(m, op), "eval")
    tol = 64 * 2.0**-53 * (1 + np.abs(expected).max())
    assert_close(m(x), expected, tol, f"{name} eval")
    assert torch.equal(m(x), m(x))


@pytest.mark.parametrize("name", NAMES)
def test_extra_repr_names_the_configuration(name):
    text = repr(MODULES[name][0]())
    assert "kernel_size=" in text and "stride=" in text, text


def test_modules_train_in_a_model():
    """A few optimiser steps through conv + learnable poolers (ranks 1 and 3): every
    parameter moves and stays in range."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv3d(2, C, 3, padding=1),
        impl.QuantilePool(kernel_size=(2, 2, 2), num_channels=C),
        impl.GeMPool(kernel_size=(1, 2, 2), num_channels=C),
        impl.GatedPool(kernel_size=(2, 1, 1), num_channels=C),
        impl.GumbelPool(kernel_size=(1, 1, 2), num_channels=C),
    )
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(4, 2, 8, 8, 8)
    for _ in range(3):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()
    for b, p in zip(before, model.parameters()):
        assert not torch.equal(b, p.detach())
    q = model[1].constrained("q")
    assert ((q > 0) & (q < 1)).all() and (model[1].constrained("alpha") > 0).all()
    seq1 = torch.nn.Sequential(
        impl.MixedPool(kernel_size=(3,), num_channels=C), impl.SoftPool((2,))
    )
    seq1(torch.randn(2, C, 12, requires_grad=True)).sum().backward()
    assert seq1[0].a.grad is not None


def test_gumbel_source_temperature_is_rectified_per_channel_and_position():
    """The source's parametrisation, GumbelPool's default: ``T = relu(raw) + 0.1`` with one
    raw per channel and output position, raw from ``1 x U(0.5, 1.5)``; the gradient reaching
    raw is the spec's temperature cotangent where raw > 0 and 0 where relu is flat (eval
    mode, where the output is deterministic)."""
    make, op, _ = MODULES["GumbelPool/source"]
    torch.manual_seed(5)
    m = make().double()
    assert (m.parametrization, m.init) == ("rectified", "uniform"), (m.parametrization, m.init)
    raw = m.raw_temperature
    assert raw.shape == (C, 4, 5) and bool(((raw >= 0.5) & (raw <= 1.5)).all())
    assert raw.unique().numel() == raw.numel(), "one draw per entry"
    with torch.no_grad():
        raw[0, 0, 0] = -3.0
    t = m.constrained("temperature")
    assert t[0, 0, 0].item() == 0.1
    torch.testing.assert_close(t, torch.relu(raw.detach()) + 0.1, rtol=0, atol=0)
    m.eval()
    x = _x("GumbelPool", seed=6)
    y = m(x)
    y_bar = torch.randn(y.shape, generator=torch.Generator().manual_seed(8), dtype=y.dtype)
    (y * y_bar).sum().backward()
    primals = (to_numpy(x), to_numpy(t.detach()))
    cfg = {**_cfg(m, op), "mode": "eval"}
    t_bar = spec.vjp(op, primals, to_numpy(y_bar), **cfg)[1]
    expected = np.where(to_numpy(raw.detach()) > 0, t_bar, 0.0)
    tol = derivative_tolerance(op, primals[0], primals[1:], cfg, expected)
    assert_close(raw.grad, expected, tol, "GumbelPool/source raw_temperature gradient")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"parametrization": "softplus"}, "parametrization"),
        ({"init": "normal"}, "init="),
        ({"positions": (4, 5)}, "num_channels"),
        ({"parametrization": "rectified", "temperature": 0.1}, "above 0.1"),
    ],
)
def test_gumbel_pool_rejects_a_bad_temperature_set_up(kwargs, match):
    with pytest.raises(ValueError, match=match):
        impl.GumbelPool(**{**CFG, **kwargs})


def test_gated_pool_needs_the_window_rank():
    with pytest.raises(ValueError, match="dim="):
        impl.GatedPool(kernel_size=2)
    assert impl.GatedPool(kernel_size=2, dim=3).omega.shape == (8,)
