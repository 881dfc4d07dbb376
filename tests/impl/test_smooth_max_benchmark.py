"""The smooth max benchmark (``benchmarks/smooth_max.py``): its textbook baseline computes
the spec's smooth max pooling (so its speedup compares like with like), and one child
measurement reports time, memory and the samples the parent compares."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from benchmark_scripts import load_benchmark

from ndpool import spec


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("smooth_max")


def test_the_baseline_is_the_spec_smooth_max_with_zero_padding(bench):
    rng = np.random.default_rng(0)
    for _, d, _, small, k, s in bench.CASES:
        x = rng.standard_normal((1, 2) + tuple(min(n, 9) for n in small[2:])) * 3
        got = bench.unfold_smooth_max(torch.from_numpy(x), bench.BETA, k, s, k // 2)
        want = spec.smooth_max_pool(x, bench.BETA, kernel_size=k, stride=s, padding=k // 2)
        assert got.shape == want.shape, d
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=0)


def test_a_child_reports_time_memory_and_both_samples(bench):
    case = bench.CASES[0][0]
    rows = {i: bench.child(case, i, "fwd+bwd", quick=True, repeats=1) for i in bench.IMPLS}
    for row in rows.values():
        assert row["ms"] > 0 and row["peak_mb"] >= 0 and row["y"] and row["grad"]
    nd, uf = rows["ndpool"], rows["unfold"]
    # two float32 log-sum-exps of K cells: K - 1 additions, exp, log, the scaling by 1 / beta
    # and the shift, each within eps (relative to the window's max, at most max |y|), in each
    kernel = bench.CASES[0][4]
    assert bench._rel_diff(nd["y"], uf["y"]) <= 2 * (kernel + 3) * np.finfo(np.float32).eps
    # (the gradients' agreement with the spec is the conformance suite's vjp property)
    assert len(nd["grad"]) == len(uf["grad"]) and np.isfinite(nd["grad"]).all()
    assert bench._rel_diff([1.0, 2.0], [1.0, 4.0]) == 0.5
