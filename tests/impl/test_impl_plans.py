"""impl's plans are a few ints per axis that agree with the spec's geometry, and a long
axis is planned without per-position work or memory."""

from __future__ import annotations

import dataclasses
import itertools
import time
import tracemalloc

import numpy as np
import pytest
import torch

from ndpool import impl
from ndpool.impl import geometry as ig
from ndpool.impl.separable import mask_unread
from ndpool.spec import geometry as sg
from ndpool.spec.constraints import ConstraintError


def _sliding_configs():
    for length, k, s, dl, ceil in itertools.product(
        (1, 2, 5, 7, 12), (1, 2, 3, 4), (1, 2, 3, 5), (1, 2, 3), (False, True)
    ):
        eff = dl * (k - 1) + 1
        for pb, pe in {(0, 0), (eff // 2, eff // 2), (0, eff // 2), (eff // 2, 0)}:
            yield dict(
                length=length,
                kernel_size=(k,),
                stride=s,
                dilation=dl,
                padding=((pb, pe),),
                ceil_mode=ceil,
            )


SLIDING = list(_sliding_configs())


def _assert_a_few_ints(record, what: str) -> None:
    """Every field of a plan's axis record is an int or a bool, or a record of them."""
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if dataclasses.is_dataclass(value):
            _assert_a_few_ints(value, f"{what}.{f.name}")
        else:
            assert isinstance(value, (int, bool)), (
                f"{what}.{f.name} is {type(value).__name__}, expected an int or a bool"
            )


def test_plan_fields_are_a_few_ints_per_axis():
    plan = ig.sliding_plan((1, 1, 4_000_000), kernel_size=3, stride=1, padding=1)
    for a, ax in enumerate(plan.axes):
        _assert_a_few_ints(ax, f"axis {a}")


@pytest.mark.parametrize("kernel", [10_001, 100_001, 2_000_001])
def test_a_plan_is_a_few_ints_whatever_the_padding(kernel):
    """A 4e6-long axis, stride 1, padding kernel // 2: every window up to a million from
    an end reaches into the padding, and the plan still holds a few ints (no count per
    window), planned without allocating anything of the padding's size."""
    shape, cfg = (1, 1, 4_000_000), dict(kernel_size=kernel, stride=1, padding=kernel // 2)
    ig.sliding_plan((1, 1, 9), kernel_size=3, stride=1, padding=1)  # imports warmed up
    ig._resolve_sliding.cache_clear()
    plan, peak = _traced(lambda: ig.sliding_plan(shape, **cfg))
    assert peak < 2**20, (
        f"kernel {kernel}: planning peaked at {peak} traced bytes, expected < 1 MiB"
    )
    (ax,) = plan.axes
    _assert_a_few_ints(ax, f"kernel {kernel}")
    real, extent = ax.real_count, ax.extent_count
    assert (real.head, real.tail) == (kernel // 2, kernel // 2), (real.head, real.tail)
    assert (real.least, extent.least) == (kernel // 2 + 1, kernel), (real.least, extent.least)
    assert real.count(0) == real.count(ax.out - 1) == kernel // 2 + 1
    assert real.count(kernel // 2) == real.count(ax.out - 1 - kernel // 2) == kernel


def _traced(fn):
    tracemalloc.start()
    try:
        return fn(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sliding_axis_agrees_with_the_spec_geometry():
    """Per-window counts (made from the plan's formula), the least count, emptiness and the
    cells read, against the spec's geometry on every small configuration, ceil_mode,
    dilation and uneven padding included."""
    checked = inner = 0
    for cfg in SLIDING:
        got = _check_sliding(dict(cfg))
        checked += got > 0
        inner += got > 1
    assert checked > 500, f"only {checked} valid configurations checked"
    assert inner > 5, f"only {inner} configurations with the least count inside (not at an end)"


def _check_sliding(cfg) -> int:
    length = cfg.pop("length")
    try:
        g = sg.sliding_geometry((length,), **cfg)
    except ConstraintError:
        return 0
    plan = ig.sliding_plan((1, 1, length), **cfg)
    (ax,), (taps,) = plan.axes, g.axes
    real, extent = taps.real.sum(axis=1), taps.in_extent.sum(axis=1)
    what = f"length {length}, {cfg}"
    assert ig.counts_tensor(ax.real_count).tolist() == real.tolist(), what
    assert ig.counts_tensor(ax.extent_count).tolist() == extent.tolist(), what
    assert ax.real_count.least == real.min(), f"least {ax.real_count.least}, {real}; {what}"
    assert ax.extent_count.least == extent.min(), f"least {ax.extent_count.least}; {what}"
    assert ax.has_absent == bool((real < ax.kernel).any()), what
    assert ax.has_empty == bool((real == 0).any()), what
    read = np.zeros(length, dtype=bool)
    read[taps.position[taps.real]] = True
    assert ig.read_mask(ax).tolist() == read.tolist(), what
    assert ax.may_skip or read.all(), what
    return 2 if real.min() < min(real[0], real[-1]) else 1  # 2: the least is inside


def test_adaptive_axis_agrees_with_the_spec_geometry():
    for length, out in ((n, o) for n in range(1, 40) for o in range(1, 3 * n + 2)):
        (taps,) = sg.adaptive_geometry((length,), output_size=(out,)).axes
        ax = ig.adaptive_axis(length, out)
        what = f"length {length}, out {out}"
        assert ax.taps == taps.position.shape[1], what
        assert ax.has_repeats == bool((~taps.real).any()), what
        assert ig.bin_real(ax).tolist() == taps.real.tolist(), what
        index = np.minimum(taps.position, taps.position[:, :1] + taps.real.sum(1)[:, None] - 1)
        assert ig.bin_index(ax).tolist() == index.tolist(), what
        assert ig.counts_tensor(ax.real_count).tolist() == taps.real.sum(1).tolist(), what


def test_mask_unread_zeroes_exactly_the_unread_cells():
    x = torch.arange(1.0, 12.0).reshape(1, 1, 11)
    plan = ig.sliding_plan(x.shape, kernel_size=2, stride=4, dilation=1)  # reads 0 1 4 5 8 9
    got = mask_unread(x, plan)[0, 0].tolist()
    assert got == [1, 2, 0, 0, 5, 6, 0, 0, 9, 10, 0], got


def test_planning_a_long_axis_is_constant_work():
    """Distinct lengths near 4e6 (each a fresh plan): microseconds apiece, and the plan
    cache holds no per-position memory."""
    ig._resolve_sliding.cache_clear()
    tracemalloc.start()
    start = time.perf_counter()
    for length in range(4_000_000, 4_000_040):
        ig.sliding_plan((1, 1, length), kernel_size=3, stride=2, padding=1, dilation=2)
        ig.adaptive_plan((1, 1, length), output_size=(length // 3,))
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2**20, f"planning 80 long axes peaked at {peak} traced bytes, expected < 1 MiB"
    assert elapsed < 1.0, f"planning 80 long axes took {elapsed:.3f} s, expected well under 1 s"


def test_long_axis_max_pool_matches_the_spec():
    """A 1-D max pool on a long axis: impl's values and gradient against the spec's."""
    from ndpool import spec

    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, (1, 2, 200_003)).astype(np.float64)
    cfg = dict(kernel_size=3, stride=2, padding=1)
    t = torch.tensor(x, requires_grad=True)
    y = impl.max_pool(t, **cfg)
    y_bar = rng.standard_normal(tuple(y.shape))
    (g,) = torch.autograd.grad(y, t, torch.tensor(y_bar))
    assert np.array_equal(y.detach().numpy(), spec.max_pool(x, **cfg))
    assert np.array_equal(g.numpy(), spec.vjp("max_pool", (x,), y_bar, **cfg)[0])


@pytest.mark.parametrize("count_include_pad", [False, True])
def test_average_divisors_at_the_edges_match_the_spec(count_include_pad):
    """avg_pool's divisors come from the plan's count formulas: on integer cells (exact
    sums), impl's means are the spec's bit for bit, at the edges, under ceil_mode, with
    dilation, uneven padding and windows longer than the input."""
    from ndpool import spec

    rng = np.random.default_rng(1)
    x1 = rng.integers(-9, 10, (2, 3, 600)).astype(np.float64)
    x2 = rng.integers(-9, 10, (1, 2, 9, 7)).astype(np.float64)
    configs = [
        (x1, dict(kernel_size=201, stride=1, padding=100)),
        (x1, dict(kernel_size=201, stride=7, padding=100, ceil_mode=True)),
        (x1, dict(kernel_size=26, stride=5, padding=((3, 12),), dilation=3, ceil_mode=True)),
        (x1[..., :40], dict(kernel_size=9, stride=2, padding=12, dilation=7)),
        (x2, dict(kernel_size=(3, 4), stride=(2, 3), padding=(1, 2), ceil_mode=True)),
        (x2, dict(kernel_size=3, stride=1, padding=3, dilation=3)),
        (x2, dict(kernel_size=(5, 2), stride=(3, 1), padding=((2, 1), (1, 0)), dilation=(2, 4))),
    ]
    checked = 0
    for x, cfg in configs:
        try:
            want = spec.avg_pool(x, count_include_pad=count_include_pad, **cfg)
        except ConstraintError:
            continue
        got = impl.avg_pool(torch.tensor(x), count_include_pad=count_include_pad, **cfg)
        assert np.array_equal(got.numpy(), want, equal_nan=True), (
            f"avg_pool {cfg}, count_include_pad={count_include_pad}, x {x.shape}: "
            f"largest difference {np.nanmax(np.abs(got.numpy() - want))}"
        )
        checked += 1
    assert checked >= 6, f"only {checked} valid configurations"
