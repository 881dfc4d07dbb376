"""The stochastic modules sample with the spec's probabilities: chi-square goodness of fit.

For every module, ``n`` independent draws from the module's own generator path
(``module(x)`` in train mode) are classified by what was picked -- stochastic
pooling's chosen cell, Gumbel pooling's argmax cell, S3Pool's kept rows of a grid --
and the counts ``O_j`` are compared with ``E_j = n p_j``, ``p_j`` the spec's
probabilities (``x_j / sum x``; ``softmax(x / T)_j``, the Gumbel-max law; a uniform
``g/stride``-subset of the grid's ``g`` rows, probability ``1 / C(g, g/stride)``).

Test and false-alarm rate. Pearson's ``X^2 = sum_j (O_j - E_j)^2 / E_j`` is, under the
null hypothesis (the module samples from ``p``), asymptotically chi-square with
``k - 1`` degrees of freedom (``k`` categories; multinomial central limit theorem);
every ``E_j`` here is >= 400, far above the usual ``E_j >= 5`` rule for the
approximation. A test rejects when ``X^2`` exceeds the ``1 - ALPHA`` quantile of
``chi2(k - 1)`` (``scipy.stats.chi2.ppf``), so a correct sampler fails it with
probability ``ALPHA = 1e-4`` per test, at most ``3 * ALPHA = 3e-4`` for the three
tests together (union bound). The seeds are fixed, so the outcome is
deterministic: the rate is that of a seed chosen at random, i.e. the chance that
the fixed seeds were unlucky. Each test also checks its power: the same counts
against a clearly wrong law (uniform over the cells, or ``x`` without the
temperature) must be rejected.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from scipy import stats

from ndpool import impl, spec

ALPHA = 1e-4


def chi_square_rejects(counts, probabilities, alpha: float = ALPHA) -> tuple[bool, float, float]:
    """``(reject, X^2, threshold)`` of Pearson's test of ``counts`` against ``probabilities``."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = counts.sum() * np.asarray(probabilities, dtype=np.float64)
    assert (expected >= 5).all(), expected  # the chi-square approximation's condition
    x2 = float(((counts - expected) ** 2 / expected).sum())
    threshold = float(stats.chi2.ppf(1 - alpha, df=len(counts) - 1))
    return x2 > threshold, x2, threshold


def test_stochastic_pool_picks_cell_l_with_probability_x_l_over_sum():
    cells = np.array([0.5, 0.0, 1.5, 3.0, 0.0, 1.0])  # distinct non-zero values; two zeros
    n = 12000
    x = torch.tensor(np.tile(cells, (n, 1))[:, None, :])  # n windows of one channel
    module = impl.StochasticPool(kernel_size=6, generator=torch.Generator().manual_seed(11))
    y = module(x).reshape(-1).numpy()
    # the spec's probabilities: its eval-mode weights p_i = x_i / sum x
    p = cells / cells.sum()
    assert np.isclose(spec.stochastic_pool(cells[None, None], kernel_size=6, mode="eval")[0, 0, 0],
                      (p * cells).sum())  # fmt: skip
    picked = (y[:, None] == cells[None, :]) & (cells > 0)
    assert (picked.sum(axis=1) == 1).all()  # every pick is one of the non-zero cells
    counts = picked.sum(axis=0)
    live = cells > 0
    assert (counts[~live] == 0).all(), "a zero cell was picked"
    reject, x2, thr = chi_square_rejects(counts[live], p[live])
    assert not reject, f"X^2 = {x2:.2f} > {thr:.2f}: counts {counts[live]}, p {p[live]}"
    assert chi_square_rejects(counts[live], np.full(live.sum(), 1 / live.sum()))[0]


def test_gumbel_pool_argmax_follows_softmax_over_temperature():
    cells = np.array([0.0, 0.5, 1.0, 1.5, -0.5])
    t = 0.7
    n = 12000
    x = torch.tensor(np.tile(cells, (n, 1))[:, None, :])
    module = impl.GumbelPool(
        kernel_size=5, temperature=t, init="constant", generator=torch.Generator().manual_seed(12)
    )
    with torch.no_grad():
        y = module(x).reshape(-1).numpy()
    picked = y[:, None] == cells[None, :]
    assert (picked.sum(axis=1) == 1).all()
    counts = picked.sum(axis=0)
    # the spec's law of i* = argmax(x / T + g), g standard Gumbel: softmax(x / T) -- the
    # weights of the spec's eval mode (checked against spec.gumbel_pool's eval value)
    p = np.exp(cells / t) / np.exp(cells / t).sum()
    eval_y = spec.gumbel_pool(cells[None, None], t, kernel_size=5, mode="eval")[0, 0, 0]
    assert np.isclose(eval_y, (p * cells).sum())
    reject, x2, thr = chi_square_rejects(counts, p)
    assert not reject, f"X^2 = {x2:.2f} > {thr:.2f}: counts {counts}, p {p}"
    wrong = np.exp(cells) / np.exp(cells).sum()  # the temperature ignored
    assert chi_square_rejects(counts, wrong)[0]


def test_s3_pool_keeps_a_uniform_subset_of_every_grid():
    """x increasing, k = 2: the stride-1 max map is m[r] = x[r + 1], so the output names
    the kept rows; grid 0 keeps 2 of its 4 rows, each of the 6 subsets with probability 1/6."""
    x = torch.arange(8, dtype=torch.float64).reshape(1, 1, 8)
    module = impl.S3Pool(kernel_size=2, grid_size=4, generator=torch.Generator().manual_seed(13))
    subsets = list(itertools.combinations(range(4), 2))
    n = 3000
    counts = np.zeros(len(subsets))
    for _ in range(n):
        rows = tuple(int(v) - 1 for v in module(x)[0, 0, :2])
        counts[subsets.index(rows)] += 1
    # the spec's sampler draws the same law: check its layout agrees on the grid
    lay = spec.s3_layout((1, 1, 8), kernel_size=2, grid_size=4)[0]
    assert lay["bounds"][0] == (0, 4) and lay["per_grid"] == 2
    p = np.full(len(subsets), 1 / len(subsets))
    reject, x2, thr = chi_square_rejects(counts, p)
    assert not reject, f"X^2 = {x2:.2f} > {thr:.2f}: counts {counts}"
    skewed = np.array([0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
    assert chi_square_rejects(counts, skewed)[0]
