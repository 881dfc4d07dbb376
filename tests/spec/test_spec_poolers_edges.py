"""Conventions, edge cases, errors and registry metadata of the issue-6 poolers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ndpool import spec
from ndpool.spec import ConstraintError

NEW = {
    # name: (differentiable, exact in train / default mode, exact in eval mode)
    "quantile_pool": ((True, True, True), False, None),
    "median_pool": ((True,), True, None),
    "mixed_pool": ((True, True), False, None),
    "gated_pool": ((True, True, True), False, None),
    "tree_pool": ((True, True, True, True), False, None),
    "stochastic_pool": ((True, False), True, False),
    "s3_pool": ((True, False), True, False),
    "gumbel_pool": ((True, True, False), False, False),
    "soft_pool": ((True,), False, None),
    "gem_pool": ((True, True), False, None),
}


def broken(constraint, *match):
    pattern = re.escape(constraint) + r": .*" + ".*".join(re.escape(m) for m in match)
    return pytest.raises(ConstraintError, match=pattern)


@pytest.mark.parametrize("name", sorted(NEW))
def test_registry_records(name):
    op = spec.OPS[name]
    diff, exact_train, exact_eval = NEW[name]
    assert op.differentiable == diff
    assert len(op.inputs) == len(op.input_specs) == len(diff)
    assert op.input_specs[0].kind == "x"
    assert all(s.kind in spec.INPUT_KINDS for s in op.input_specs)
    assert all(s.sampler is not None for s in op.input_specs if not s.differentiable)
    assert op.function is getattr(spec, name)
    assert "kernel_size" in op.config_defaults and not op.adaptive
    assert op.exact_for(kernel_size=2) == exact_train
    if exact_eval is not None:
        assert op.config_defaults["mode"] == "train"
        assert op.exact_for(kernel_size=2, mode="eval") == exact_eval
    assert op.returns_indices == (name == "median_pool")
    shape = (2, 3, 8, 8)
    cfg = {"kernel_size": (2, 2)}
    if name == "s3_pool":
        assert op.output_shape(shape, **cfg) == (2, 3, 4, 4)
    else:
        assert (
            op.output_shape(shape, **cfg) == (2, 3, 4, 4) == spec.output_shape(name, shape, **cfg)
        )


def test_old_records_report_their_inputs():
    assert spec.OPS["lp_pool"].differentiable == (True, True)
    assert [s.kind for s in spec.OPS["smooth_max_pool"].input_specs] == ["x", "channel"]
    assert spec.OPS["max_pool"].exact_for(kernel_size=2) is True


# -- stochastic_pool -------------------------------------------------------------------------
def sp(values, u, **kw):
    x = np.asarray(values, dtype=np.float64)[None, None]
    return spec.stochastic_pool(x, np.array([[[u]]]), kernel_size=x.shape[-1], **kw)[0, 0, 0]


def test_stochastic_inverse_cdf_boundaries():
    # c = [1, 1, 4, 8]: cell 0 owns u in [0, 1/8), cell 1 (x = 0) nothing,
    # cell 2 [1/8, 1/2), cell 3 [1/2, 1)
    x = [1.0, 0.0, 3.0, 4.0]
    assert sp(x, 0.0) == 1.0
    assert sp(x, 0.125 - 2**-50) == 1.0
    assert sp(x, 0.125) == 3.0  # u S = c_1 exactly: strict comparison, the next cell
    assert sp(x, 0.5) == 4.0
    assert sp(x, 1 - 2**-53) == 4.0
    assert sp([2.0, 5.0, 0.0, 0.0], 1 - 2**-53) == 5.0  # zero cells at the end are never picked


def test_stochastic_frequencies_match_probabilities():
    """u on a regular grid of M points: each cell is picked ~ p_i M times (+-1)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, (1, 1, 8)).astype(np.float64)
    x[0, 0, 2] = 3.0
    m = 4000
    u = ((np.arange(m) + 0.5) / m).reshape(1, 1, m)
    xs = np.broadcast_to(x, (1, m, 8)).copy()
    ys = spec.stochastic_pool(xs, u.reshape(1, m, 1), kernel_size=8)[0, :, 0]
    p = x[0, 0] / x.sum()
    for value in np.unique(x[0, 0]):
        want = p[x[0, 0] == value].sum() * m
        assert abs((ys == value).sum() - want) <= 1 + 1e-9 * m


def test_stochastic_all_zero_window_and_eval_mode():
    x = np.array([[[0.0, 0.0, 2.0, 6.0]]])
    u = np.array([[[0.7, 0.7]]])
    np.testing.assert_array_equal(spec.stochastic_pool(x, u, kernel_size=2), [[[0.0, 6.0]]])
    np.testing.assert_array_equal(
        spec.stochastic_pool(x, kernel_size=2, mode="eval"), [[[0.0, 40.0 / 8]]]
    )
    # ... the eval mode ignores a given u; the all-zero window has zero derivatives
    np.testing.assert_array_equal(
        spec.stochastic_pool(x, u, kernel_size=2, mode="eval"), [[[0.0, 5.0]]]
    )
    for mode in ("train", "eval"):
        x_bar, u_bar = spec.vjp(
            "stochastic_pool", (x, u), np.ones((1, 1, 2)), kernel_size=2, mode=mode
        )
        assert u_bar is None and (x_bar[0, 0, :2] == 0).all()
    # eval derivative (2 x_j - y) / S
    x_bar, _ = spec.vjp(
        "stochastic_pool", (x, None), np.ones((1, 1, 2)), kernel_size=2, mode="eval"
    )
    np.testing.assert_allclose(x_bar[0, 0, 2:], [(4 - 5) / 8, (12 - 5) / 8])
    # padded cells are absent (probability 0)
    y = spec.stochastic_pool(np.array([[[3.0]]]), np.array([[[0.0]]]), kernel_size=3, padding=1)
    assert y[0, 0, 0] == 3.0


def test_C18_stochastic_input_domain():
    u = np.zeros((1, 1, 2))
    with broken("C18", "non-negative", "x[0, 0, 2]", "-0.5"):
        spec.stochastic_pool(np.array([[[1.0, 2.0, -0.5, 1.0]]]), u, kernel_size=2)
    with broken("C18", "x[0, 1]", "nan"):  # unbatched: the index has no N
        spec.stochastic_pool(np.array([[1.0, np.nan, 0.5, 1.0]]), u[0], kernel_size=(2,))
    with broken("C18", "inf"):
        spec.stochastic_pool(np.array([[[1.0, np.inf, 0.5, 1.0]]]), u, kernel_size=2, mode="eval")
    for bad in (1.0, -0.1, np.nan):
        with broken("C18", "[0, 1)"):
            spec.stochastic_pool(np.ones((1, 1, 4)), np.full((1, 1, 2), bad), kernel_size=2)


def test_C16_random_draw_shape_and_presence():
    x = np.ones((1, 2, 4))
    with broken("C16", "needs the uniform draw u"):
        spec.stochastic_pool(x, kernel_size=2)
    with broken("C16", "u has shape (1, 2)", "(1, 2, 2)"):
        spec.stochastic_pool(x, np.zeros((1, 2)), kernel_size=2)
    with broken("C16", "needs the Gumbel noise g"):
        spec.gumbel_pool(x, 1.0, kernel_size=2)
    with broken("C16", "g has shape (1, 2, 2)", "(1, 2, 2, 2)"):
        spec.gumbel_pool(x, 1.0, np.zeros((1, 2, 2)), kernel_size=2)
    with broken("C16", "indices"):
        spec.s3_pool(np.ones((1, 1, 8)), kernel_size=2)


# -- gumbel / soft ---------------------------------------------------------------------------
def test_gumbel_conventions():
    x = np.array([[[1.0, 2.0, 2.0, 0.5]]])
    g = np.zeros((1, 1, 1, 4))
    assert spec.gumbel_pool(x, 1.0, g, kernel_size=4)[0, 0, 0] == 2.0  # tie: first maximizer
    g[..., 3] = 10.0
    assert spec.gumbel_pool(x, 1.0, g, kernel_size=4)[0, 0, 0] == 0.5
    # a padded cell's noise is ignored
    g2 = np.array([[[[100.0, 0.0, 0.0]]]])
    assert (
        spec.gumbel_pool(np.array([[[1.0, 3.0]]]), 1.0, g2, kernel_size=3, padding=1, stride=3)[
            0, 0, 0
        ]
        == 3.0
    )
    # eval at T = 1 is soft_pool; large T tends to the mean, small T to the max
    xr = np.random.default_rng(0).standard_normal((2, 3, 6))
    np.testing.assert_allclose(
        spec.gumbel_pool(xr, 1.0, kernel_size=3, mode="eval"),
        spec.soft_pool(xr, kernel_size=3),
        rtol=1e-15,
    )
    np.testing.assert_allclose(
        spec.gumbel_pool(xr, 1e8, kernel_size=3, mode="eval"),
        spec.avg_pool(xr, kernel_size=3),
        rtol=1e-6,
        atol=1e-7,
    )
    np.testing.assert_allclose(
        spec.gumbel_pool(xr, 1e-4, kernel_size=3, mode="eval"), spec.max_pool(xr, kernel_size=3)
    )


def test_C19_gumbel_temperature_and_noise():
    x = np.ones((1, 2, 4))
    g = np.zeros((1, 2, 2, 2))
    with broken("C19", "temperature=[1.0, 0.0]"):
        spec.gumbel_pool(x, np.array([1.0, 0.0]), g, kernel_size=2)
    with broken("C19", "temperature=[inf]"):
        spec.gumbel_pool(x, np.inf, g, kernel_size=2)
    g[0, 0, 0, 0] = np.inf
    with broken("C19", "finite"):
        spec.gumbel_pool(x, 1.0, g, kernel_size=2)


def test_soft_pool_is_stable_and_bounded():
    x = np.array([[[1000.0, 1000.0, -1000.0, 0.0, 700.0, -700.0]]])
    y = spec.soft_pool(x, kernel_size=2)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, [[[1000.0, 0.0, 700.0]]])
    xr = np.random.default_rng(1).standard_normal((2, 2, 9)) * 5
    y = spec.soft_pool(xr, kernel_size=3)
    assert (y <= spec.max_pool(xr, kernel_size=3)).all()
    assert (y >= -spec.max_pool(-xr, kernel_size=3)).all()


# -- mixed / gated / tree ----------------------------------------------------------------------
def test_mixed_and_gated_limits():
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 4))
    cfg = {"kernel_size": (2, 2), "padding": (1, 1), "stride": (2, 2)}
    mx = spec.max_pool(x, **cfg)
    mean = spec.avg_pool(x, count_include_pad=False, **cfg)
    np.testing.assert_allclose(spec.mixed_pool(x, 50.0, **cfg), mx, atol=1e-15)
    np.testing.assert_allclose(spec.mixed_pool(x, -50.0, **cfg), mean, atol=1e-15)
    np.testing.assert_allclose(spec.gated_pool(x, np.zeros(4), **cfg), (mx + mean) / 2, rtol=1e-15)
    np.testing.assert_allclose(
        spec.gated_pool(x, np.zeros((3, 4)), **cfg), (mx + mean) / 2, rtol=1e-15
    )


def test_C15_window_parameter_shape():
    x = np.ones((1, 2, 4, 4))
    with broken("C15", "omega has shape (3,)", "(4,)", "(2, 4)"):
        spec.gated_pool(x, np.zeros(3), kernel_size=(2, 2))
    with broken("C15", "v1 has shape (3, 4)"):
        spec.tree_pool(x, np.zeros((3, 4)), np.zeros(4), np.zeros(4), kernel_size=(2, 2))


# -- gem -------------------------------------------------------------------------------------
def test_gem_conventions():
    x = np.array([[[1.0, 4.0, -3.0, 0.0, 2.0, 2.0]]])
    np.testing.assert_allclose(spec.gem_pool(x, 1.0, kernel_size=2, eps=0.0), [[[2.5, 0.0, 2.0]]])
    y = spec.gem_pool(x, 1.0, kernel_size=2)  # default eps = 1e-6 clamps -3 and 0
    np.testing.assert_allclose(y, [[[2.5, 1e-6, 2.0]]])
    big = spec.gem_pool(np.array([[[1.0, 4.0]]]), 200.0, kernel_size=2)
    np.testing.assert_allclose(big, 4.0 * 0.5 ** (1 / 200), rtol=1e-14)  # -> max, no overflow
    # clamped cells get no gradient; a cell exactly at eps does (as torch.clamp)
    x_bar, _ = spec.vjp(
        "gem_pool",
        (np.array([[[0.5, 0.5, -1.0]]]), 2.0),
        np.ones((1, 1, 1)),
        kernel_size=3,
        eps=0.5,
    )
    assert x_bar[0, 0, 2] == 0 and x_bar[0, 0, 0] > 0


def test_C20_gem_p_and_eps():
    x = np.ones((1, 2, 4))
    with broken("C20", "p=[0.0]"):
        spec.gem_pool(x, 0.0, kernel_size=2)
    with broken("C20", "p=[2.0, inf]"):
        spec.gem_pool(x, np.array([2.0, np.inf]), kernel_size=2)
    with broken("C20", "eps=-1"):
        spec.gem_pool(x, 2.0, kernel_size=2, eps=-1)


# -- median ----------------------------------------------------------------------------------
def test_median_conventions():
    y, idx = spec.median_pool(
        np.array([[[2.0, 1.0, 2.0, 1.0]]]), kernel_size=4, return_indices=True
    )
    assert y[0, 0, 0] == 1.0 and idx[0, 0, 0] == 1  # lower middle of 1 1 2 2, first occurrence
    y, idx = spec.median_pool(
        np.array([[[2.0, np.nan, 1.0, np.nan]]]), kernel_size=4, return_indices=True
    )
    assert np.isnan(y[0, 0, 0]) and idx[0, 0, 0] == 1
    y, idx = spec.median_pool(
        np.array([[[7.0, 3.0]]]), kernel_size=3, padding=1, return_indices=True
    )
    assert y[0, 0, 0] == 3.0 and idx[0, 0, 0] == 1  # padding absent: median of [7, 3] is 3
    # a window with no real cell (dilation) is NaN with index -1
    y, idx = spec.median_pool(
        np.array([[[5.0]]]), kernel_size=2, dilation=2, padding=1, return_indices=True
    )
    assert np.isnan(y).all() and (idx == -1).all()


# -- s3 --------------------------------------------------------------------------------------
def test_C21_s3_grids_and_indices():
    x = np.ones((1, 1, 8))
    with broken("C21", "grid_size 3", "multiple of stride 2"):
        spec.s3_pool(x, np.zeros(2, dtype=int), kernel_size=2, grid_size=3)
    with broken("C21", "[0, 4)"):
        spec.s3_pool(x, np.array([1, 4, 5, 6]), kernel_size=2, grid_size=4)
    with broken("C21", "strictly increasing"):
        spec.s3_pool(x, np.array([2, 1, 4, 6]), kernel_size=2, grid_size=4)
    with broken("C21", "4 integers"):
        spec.s3_pool(x, np.array([1, 2, 4]), kernel_size=2, grid_size=4)
    with broken("C21", "shorter than grid_size"):
        spec.s3_pool(np.ones((1, 1, 3)), np.array([0]), kernel_size=2, grid_size=4)
    with broken("C21", "last grid"):
        spec.s3_pool(np.ones((1, 1, 8)), np.arange(8), kernel_size=4, stride=1, grid_size=4)


def test_s3_gradient_reaches_the_max_of_kept_rows():
    x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]]])
    idx = np.array([1, 3, 4, 6])  # m = [3 4 4 5 9 9 6]: kept 4 5 9 6
    (x_bar, i_bar) = spec.vjp(
        "s3_pool", (x, idx), np.array([[[1.0, 10.0, 100.0, 1000.0]]]), kernel_size=2, grid_size=4
    )
    assert i_bar is None
    np.testing.assert_array_equal(x_bar, [[[0, 0, 1, 0, 10, 100, 0, 1000]]])


@pytest.mark.parametrize("op", ["stochastic_pool", "gumbel_pool", "s3_pool"])
def test_C14_mode_values(op):
    x = np.ones((1, 1, 8))
    args = {"stochastic_pool": (), "gumbel_pool": (1.0,), "s3_pool": ()}[op]
    with broken("C14", "mode='test'"):
        spec.OPS[op](x, *args, kernel_size=2, mode="test")


def test_selection_margins_bound_where_the_pick_can_change():
    import sys

    stochastic = sys.modules["ndpool.spec.stochastic"]
    gumbel = sys.modules["ndpool.spec.gumbel"]
    rng = np.random.default_rng(7)
    cfg = {"kernel_size": (3,), "stride": (2,), "padding": (1,)}
    x = np.abs(rng.integers(0, 3, (2, 3, 9)).astype(np.float64))
    u = rng.random((2, 3, 5))
    margin = stochastic.selection_margin(x, u, **cfg)
    y = spec.stochastic_pool(x, u, **cfg)
    for shift in (0.49, -0.49):
        moved = np.clip(u + shift * np.where(np.isfinite(margin), margin, 0), 0, 1 - 1e-16)
        np.testing.assert_array_equal(spec.stochastic_pool(x, moved, **cfg), y)
    x1 = np.array([[[1.0, 3.0]]])
    assert stochastic.selection_margin(x1, np.array([[[0.25]]]), kernel_size=2)[0, 0, 0] == 0
    xg = rng.standard_normal((2, 3, 9))
    g = spec.OPS["gumbel_pool"].input_specs[2].sampler(rng, xg.shape, **cfg)
    gap = gumbel.selection_margin(xg, 0.7, g, **cfg)
    assert (gap >= 0).all()
    y = spec.gumbel_pool(xg, 0.7, g, **cfg)
    # moving every score by less than half the gap keeps the pick
    half = np.where(np.isfinite(gap), gap / 2.01, 0)[..., None]
    g2 = g + half * rng.uniform(-1, 1, g.shape)
    np.testing.assert_array_equal(spec.gumbel_pool(xg, 0.7, g2, **cfg), y)
