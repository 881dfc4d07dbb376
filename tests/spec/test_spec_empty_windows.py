"""Windows wholly in the padding: any padding >= 0 is valid, and every op states (and keeps)
what a window with no real cell gives (``Op.empty_window``).

The configuration below (length 3, kernel 2, stride 1, padding 3 at the beginning) has two
windows that read padding only, then windows that read real cells; the expected values are
the records' statements for the default options, written down here as the oracle.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from spec_helpers import valid_params

from ndpool import spec

CFG = dict(kernel_size=2, stride=1, padding=((3, 0),))
X = np.array([[[1.0, 2.0, 3.0], [0.5, 4.0, 0.25]]])  # [N=1, C=2, L=3]
EMPTY = (0, 1)  # the output positions whose windows lie wholly in the padding
BETA = 2.0  # the beta valid_params gives
#: the value of an empty window under each op's default options (its record's statement)
EXPECTED = {
    "max_pool": -math.inf,
    "avg_pool": 0.0,  # count_include_pad=True: 0 / (2 cells of padding)
    "lp_pool": 0.0,
    "smooth_max_pool": math.log(2) / BETA,  # padding_policy="zero": two zeros take part
    "quantile_pool": math.nan,
    "median_pool": math.nan,
    "mixed_pool": math.nan,
    "gated_pool": math.nan,
    "tree_pool": 0.0,
    "stochastic_pool": 0.0,
    "s3_pool": -math.inf,
    "gumbel_pool": math.nan,
    "soft_pool": math.nan,
    "gem_pool": math.nan,
}
SLIDING = [name for name, op in spec.OPS.items() if not op.adaptive]


def test_every_op_states_its_empty_window():
    missing = [name for name, op in spec.OPS.items() if not op.empty_window.strip()]
    assert not missing, f"ops without an empty_window statement: {missing}"
    untested = sorted(set(SLIDING) - set(EXPECTED))
    assert not untested, f"sliding-window ops without an expected empty-window value: {untested}"


@pytest.mark.parametrize("name", SLIDING)
def test_empty_window_gives_the_stated_value(name):
    op = spec.OPS[name]
    rng = np.random.default_rng(0)
    y = op(X, *valid_params(op, X, CFG, rng), **CFG)
    got = y[..., list(EMPTY)]
    want = EXPECTED[name]
    ok = np.isnan(got).all() if math.isnan(want) else (got == want).all()
    assert ok, f"{name}: empty windows give {got.ravel().tolist()}, the record states {want}"
    assert not np.isnan(y[..., 2:]).all(), f"{name}: the windows with real cells are all NaN"


@pytest.mark.parametrize("name", SLIDING)
def test_empty_window_is_constant_in_x_and_sends_nothing_back(name):
    """Its value does not depend on x, its x-tangent is 0 and no cotangent from it reaches
    x (it reads no cell)."""
    op = spec.OPS[name]
    params = valid_params(op, X, CFG, np.random.default_rng(0))
    other = X * 3 + 1
    a, b = op(X, *params, **CFG), op(other, *params, **CFG)
    np.testing.assert_array_equal(a[..., list(EMPTY)], b[..., list(EMPTY)], err_msg=name)
    tangents = (np.ones_like(X),) + (None,) * len(params)
    _, y_dot = spec.jvp(name, (X, *params), tangents, **CFG)
    assert (y_dot[..., list(EMPTY)] == 0).all(), f"{name}: x-tangent of an empty window"
    cot = np.zeros_like(a)
    cot[..., list(EMPTY)] = 1.0
    x_bar = spec.vjp(name, (X, *params), cot, **CFG)[0]
    assert (x_bar == 0).all(), f"{name}: an empty window sent {x_bar.ravel().tolist()} back"


def test_option_variants_of_the_empty_window():
    """The statements' other cases: max 'lowest', avg without the padding in the divisor,
    smooth max ignoring the padding, Lp with p = inf."""
    x32 = X.astype(np.float32)
    e = list(EMPTY)
    lowest = spec.max_pool(x32, empty_window="lowest", **CFG)[..., e]
    assert (lowest == np.finfo(np.float32).min).all()
    assert np.isnan(spec.avg_pool(X, count_include_pad=False, **CFG)[..., e]).all()
    cfg = dict(CFG, count_include_pad=False)
    _, y_dot = spec.jvp("avg_pool", (X,), (X,), **cfg)
    assert (y_dot[..., e] == 0).all()
    _, y_dot = spec.jvp("avg_pool", (X,), (X,), empty_window_derivative="nan", **cfg)
    assert np.isnan(y_dot[..., e]).all()
    assert (spec.avg_pool(X, divisor_override=3, **CFG)[..., e] == 0).all()
    ignored = spec.smooth_max_pool(X, BETA, padding_policy="ignore", **CFG)[..., e]
    assert np.isneginf(ignored).all()
    assert (spec.lp_pool(X, np.inf, **CFG)[..., e] == 0).all()
    _, y, idx = (None, *spec.max_pool(X, return_indices=True, **CFG))
    assert (idx[..., e] == -1).all() and np.isneginf(y[..., e]).all()


@pytest.mark.parametrize("padding", [2, 3, 5])
def test_any_padding_gives_the_output_size_formula(padding):
    """floor((L + 2p - eff) / s) + 1 for paddings past half the kernel, with and without
    ceil_mode (a last window that would start in the end padding is dropped)."""
    length, k, s = 4, 2, 2
    for ceil_mode in (False, True):
        span = length + 2 * padding - k
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= length + padding:
            out -= 1
        y = spec.avg_pool(
            np.ones((1, 1, length)), kernel_size=k, padding=padding, ceil_mode=ceil_mode
        )
        assert y.shape == (1, 1, out), (padding, ceil_mode)
