"""Invalid calls of the issue-6 poolers raise the spec's numbered ValueError: one case per
constraint and op, each run through the spec and the impl, which must name the same
constraint (``Cn: ...``)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from ndpool import impl, spec

X = np.abs(np.random.default_rng(0).normal(size=(2, 3, 8, 8)))
G2 = dict(kernel_size=2)
U_OK = np.full((2, 3, 4, 4), 0.5)
G_OK = np.zeros((2, 3, 4, 4, 4))
IDX_OK = np.array([0, 2, 4, 6, 0, 2, 4, 6])

# (case id, op, x, positional inputs, config, the constraint both must name)
CASES = [
    ("kernel-zero", "median_pool", X, [], dict(kernel_size=0), "C2"),
    ("quantile-q0", "quantile_pool", X, [0.0, 1.0], G2, "C17"),
    ("quantile-q1", "quantile_pool", X, [np.ones(3), 1.0], G2, "C17"),
    ("quantile-alpha", "quantile_pool", X, [0.5, -1.0], G2, "C17"),
    ("quantile-shape", "quantile_pool", X, [np.full(4, 0.5), 1.0], G2, "C12"),
    ("mixed-shape", "mixed_pool", X, [np.zeros(2)], G2, "C12"),
    ("gated-shape", "gated_pool", X, [np.zeros(3)], G2, "C15"),
    ("tree-shape", "tree_pool", X, [np.zeros(4), np.zeros(4), np.zeros((2, 4))], G2, "C15"),
    ("stochastic-negative", "stochastic_pool", -X, [U_OK], G2, "C18"),
    ("stochastic-nan", "stochastic_pool", np.where(X > 1, np.nan, X), [U_OK], G2, "C18"),
    ("stochastic-u-range", "stochastic_pool", X, [U_OK + 0.5], G2, "C18"),
    ("stochastic-u-missing", "stochastic_pool", X, [None], G2, "C16"),
    ("stochastic-u-shape", "stochastic_pool", X, [U_OK[0]], G2, "C16"),
    ("stochastic-mode", "stochastic_pool", X, [U_OK], dict(G2, mode="test"), "C14"),
    ("gumbel-temperature", "gumbel_pool", X, [0.0, G_OK], G2, "C19"),
    ("gumbel-g-missing", "gumbel_pool", X, [1.0, None], G2, "C16"),
    ("gumbel-g-infinite", "gumbel_pool", X, [1.0, G_OK - np.inf], G2, "C19"),
    ("gumbel-g-shape", "gumbel_pool", X, [1.0, G_OK[..., :2]], G2, "C16"),
    ("gumbel-mode", "gumbel_pool", X, [1.0, G_OK], dict(G2, mode="x"), "C14"),
    ("gem-p", "gem_pool", X, [0.0], G2, "C20"),
    ("gem-eps", "gem_pool", X, [3.0], dict(G2, eps=-1.0), "C20"),
    ("s3-grid", "s3_pool", X, [IDX_OK], dict(G2, grid_size=3), "C21"),
    ("s3-indices", "s3_pool", X, [IDX_OK[::-1].copy()], dict(G2, grid_size=4), "C21"),
    ("s3-missing", "s3_pool", X, [None], dict(G2, grid_size=4), "C16"),
    ("s3-mode", "s3_pool", X, [IDX_OK], dict(G2, mode="x"), "C14"),
]


def _constraint(error: Exception) -> str:
    match = re.match(r"(C\d+):", str(error))
    assert match, f"no constraint id in {error!r}"
    return match.group(1)


def _tensor(a):
    if a is None or isinstance(a, float):
        return a
    a = np.asarray(a)
    return torch.from_numpy(a.copy()) if a.dtype.kind in "iu" else torch.tensor(a)


@pytest.mark.parametrize("op,x,inputs,cfg,cid", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_call_names_the_spec_constraint(op, x, inputs, cfg, cid):
    with pytest.raises(ValueError) as from_spec:
        spec.OPS[op].function(x, *inputs, **cfg)
    with pytest.raises(ValueError) as from_impl:
        impl.OPS[op](torch.tensor(x), *[_tensor(a) for a in inputs], **cfg)
    assert _constraint(from_spec.value) == cid, from_spec.value
    assert _constraint(from_impl.value) == cid, (
        f"impl raised {from_impl.value!r}, the spec {from_spec.value!r}"
    )


def test_stochastic_negative_input_message_is_the_spec_message():
    """C18 names the first offending cell, in the spec's words."""
    x = X.copy()
    x[1, 2, 3, 4] = -2.0
    with pytest.raises(ValueError) as from_spec:
        spec.stochastic_pool(x, U_OK, **G2)
    with pytest.raises(ValueError) as from_impl:
        impl.stochastic_pool(torch.tensor(x), torch.tensor(U_OK), **G2)
    assert str(from_impl.value) == str(from_spec.value)
