"""Every dispatch path of max and window sums gives the spec's values, indices and
gradients: PyTorch's kernel on the input as it is, PyTorch's kernel on a channels-last
copy, the separable maximum (values), the separable selection (indices), the separable
sum and its adjoint. Each case first asserts that the rule in ``impl/native.py`` sends
it down the path it is named after, so a changed rule cannot leave a path untested."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_impl_support import assert_matches, make_input, spec_call, tolerance, window_volume

from ndpool import impl, spec
from ndpool.impl import native, selection
from ndpool.impl.geometry import sliding_plan

MAX_PATHS = {
    # name: (spatial shape, channels, geometry, which rule holds)
    "native, contiguous": ((7, 6), 3, dict(kernel_size=3, stride=1, padding=1), "plain"),
    "native, channels-last copy": ((7, 6), 5, dict(kernel_size=3, stride=1, padding=1), "cl"),
    "native, strided, 5 channels": ((7, 6), 5, dict(kernel_size=3, stride=2, padding=1), "plain"),
    "native 3-D": ((4, 5, 4), 5, dict(kernel_size=2, stride=1), "plain"),
    "separable selection": ((7, 6), 5, dict(kernel_size=5, stride=1, padding=2), "separable"),
}


def _plan_and_input(shape, channels, cfg, kind, seed):
    x = make_input(shape, seed=seed, kind=kind, batch=(2, channels))
    return sliding_plan(x.shape, **cfg), x


def _route(plan, x) -> str:
    if not native.max_pool_applies(plan, x):
        return "separable"
    return "cl" if native._channels_last_faster(plan, x) else "plain"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", ["ties", "special"])
@pytest.mark.parametrize("path", sorted(MAX_PATHS))
def test_max_index_and_gradient_paths(path, kind, dtype):
    shape, channels, cfg, route = MAX_PATHS[path]
    plan, x = _plan_and_input(shape, channels, cfg, kind, seed=17)
    x = x.to(dtype)
    assert _route(plan, x) == route
    xg = x.clone().requires_grad_()
    y, index = impl.max_pool(xg, **cfg, return_indices=True)
    y_ref, index_ref = spec_call("max_pool", x, (), cfg, return_indices=True)
    assert_matches(y, y_ref, exact=True, what=path)
    np.testing.assert_array_equal(index.numpy(), index_ref, err_msg=path)
    y_bar = torch.randn(y.shape, dtype=dtype, generator=torch.Generator().manual_seed(3))
    (x_bar,) = torch.autograd.grad(y, xg, y_bar)
    xn = x.detach().double().numpy()
    (x_bar_ref,) = spec.vjp("max_pool", [xn], y_bar.double().numpy(), **cfg)
    # a cell's gradient sums the cotangents of the windows it wins (at most K): rounded
    # in the input dtype, (K + 8) u sum |y_bar| bounds it
    (magnitude,) = spec.vjp("max_pool", [xn], np.abs(y_bar.double().numpy()), **cfg)
    tol = (window_volume(cfg) + 8) * torch.finfo(dtype).eps / 2 * magnitude + 1e-300
    assert_matches(x_bar, x_bar_ref, exact=False, tol=tol, what=f"{path} gradient")
    assert y.is_contiguous() and index.is_contiguous()  # the input's layout


@pytest.mark.parametrize("kind", ["ties", "special"])
@pytest.mark.parametrize("shape,cfg", [((7, 6), dict(kernel_size=3)), ((8, 5, 4), {})])
def test_max_value_only_path(shape, cfg, kind):
    """No index, no gradient: the separable maximum on CPU for d >= 2."""
    cfg = cfg or dict(kernel_size=(2, 3, 2), stride=(2, 1, 2), padding=(1, 1, 0))
    plan, x = _plan_and_input(shape, 5, cfg, kind, seed=23)
    assert native.separable_max_values(plan, x)
    y = impl.max_pool(x, **cfg)
    assert_matches(y, spec_call("max_pool", x, (), cfg), exact=True, what="value path")


@pytest.mark.parametrize("planes", [1, 2, 10])
def test_separable_selection_in_blocks(monkeypatch, planes):
    """The selection runs over blocks of planes (1: one channel at a time; 2: channel
    blocks with a remainder; 10: two whole images, then one), each block deciding alone
    whether to rerun with the padding test: the -inf corner of one plane makes windows
    of -inf and padding only, whose winner is the spec's first real cell."""
    cfg = dict(kernel_size=(3, 7), stride=1, padding=(1, 3))
    x = make_input((6, 8), seed=29, kind="special", batch=(3, 5))
    x[1, 2, :3, :5] = float("-inf")
    plan = sliding_plan(x.shape, **cfg)
    monkeypatch.setattr(selection, "BLOCK_BYTES", planes * 6 * 8 * x.element_size())
    index = selection.first_maximizer_index(x, plan)
    y_ref, index_ref = spec_call("max_pool", x, (), cfg, return_indices=True)
    np.testing.assert_array_equal(index.numpy(), index_ref)
    assert not native.max_pool_applies(plan, x)  # impl.max_pool takes the same path
    y, index = impl.max_pool(x.clone().requires_grad_(), **cfg, return_indices=True)
    np.testing.assert_array_equal(index.numpy(), index_ref)
    assert_matches(y, y_ref, exact=True, what="blocked selection")


SUM_PATHS = {
    "separable, overlapping": ((9, 8), dict(kernel_size=3, stride=2, padding=1), True),
    "separable, small disjoint": ((9, 8), dict(kernel_size=2, stride=2), True),
    "separable, dense innermost": (
        (9, 11),
        dict(kernel_size=(3, 5), stride=2, padding=(1, 2)),
        True,
    ),
    "native, disjoint 3x3": ((9, 8), dict(kernel_size=3, stride=3, padding=1), False),
}


@pytest.mark.parametrize("path", sorted(SUM_PATHS))
def test_window_sum_paths(path):
    shape, cfg, separable = SUM_PATHS[path]
    plan, x = _plan_and_input(shape, 4, cfg, "normal", seed=5)
    xg = x.clone().requires_grad_()
    assert native.separable_sums_faster(plan, xg) == separable
    y = impl.avg_pool(xg, **cfg)
    y_ref = spec_call("avg_pool", x, (), cfg)
    assert_matches(y, y_ref, exact=False, tol=tolerance("avg_pool", x, cfg, y_ref, x.dtype))
    y_bar = torch.randn(y.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(4))
    (x_bar,) = torch.autograd.grad(y, xg, y_bar)
    (x_bar_ref,) = spec.vjp("avg_pool", [x.numpy()], y_bar.numpy(), **cfg)
    # each cell of the gradient sums at most K terms y_bar / count: (K + 8) u sum |terms|
    (magnitude,) = spec.vjp("avg_pool", [x.numpy()], np.abs(y_bar.numpy()), **cfg)
    tol = (window_volume(cfg) + 8) * np.finfo(np.float64).eps / 2 * magnitude + 1e-300
    assert_matches(x_bar, x_bar_ref, exact=False, tol=tol, what=f"{path} gradient")
