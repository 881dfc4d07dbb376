"""impl's plans are a few ints per axis that agree with the spec's geometry, and a long
axis is planned without per-position work or memory."""

from __future__ import annotations

import dataclasses
import itertools
import time
import tracemalloc

import numpy as np
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


def test_plan_fields_are_a_few_ints_per_axis():
    plan = ig.sliding_plan((1, 1, 4_000_000), kernel_size=3, stride=1, padding=1)
    for ax in plan.axes:
        for f in dataclasses.fields(ax):
            value = getattr(ax, f.name)
            if isinstance(value, ig.TapCounts):
                listed = len(value.head) + len(value.tail)
                assert listed <= 2, f"{f.name} lists {listed} windows, expected the 2 padded"
            else:
                assert isinstance(value, (int, bool)), (
                    f"{f.name} is {type(value).__name__}, expected an int or a bool"
                )


def test_sliding_axis_agrees_with_the_spec_geometry():
    checked = 0
    for cfg in SLIDING:
        checked += _check_sliding(dict(cfg))
    assert checked > 500, f"only {checked} valid configurations checked"


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
    assert ax.has_absent == bool((real < ax.kernel).any()), what
    assert ax.has_empty == bool((real == 0).any()), what
    read = np.zeros(length, dtype=bool)
    read[taps.position[taps.real]] = True
    assert ig.read_mask(ax).tolist() == read.tolist(), what
    assert ax.may_skip or read.all(), what
    return 1


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
