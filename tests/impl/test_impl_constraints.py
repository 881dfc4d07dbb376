"""Invalid configurations raise the spec's numbered ValueError (same constraint id)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ndpool import impl, spec
from ndpool.spec.constraints import CONSTRAINTS

X = torch.zeros(1, 2, 5, 5)
BAD = [
    ("C1", "max_pool", (), dict(kernel_size=(2, 2, 2, 2))),
    ("C2", "avg_pool", (), dict(kernel_size=0)),
    ("C3", "max_pool", (), dict(kernel_size=2, stride=(1, 0))),
    ("C4", "lp_pool", (2.0,), dict(kernel_size=2, dilation=0)),
    ("C5", "max_pool", (), dict(kernel_size=2, padding="full")),
    ("C8", "avg_pool", (), dict(kernel_size=7)),
    ("C9", "adaptive_max_pool", (), dict(output_size=(0, 2))),
    ("C10", "lp_pool", (-1.0,), dict(kernel_size=2)),
    ("C10", "lp_pool", (float("inf"),), dict(kernel_size=2, sign="signed")),
    ("C11", "smooth_max_pool", (0.0,), dict(kernel_size=2)),
    ("C12", "smooth_max_pool", (torch.ones(3),), dict(kernel_size=2)),
    ("C13", "avg_pool", (), dict(kernel_size=2, divisor_override=0)),
    ("C14", "smooth_max_pool", (1.0,), dict(kernel_size=2, padding_policy="edge")),
    ("C2", "max_pool", (), dict(kernel_size=2.0)),
    ("C2", "max_pool", (), dict(kernel_size=np.array([2, 2]))),
    ("C22", "max_pool", (), dict(kernel_size=2, ceil_mode="no")),
    ("C22", "max_pool", (), dict(kernel_size=2, return_indices="no")),
    ("C22", "avg_pool", (), dict(kernel_size=2, count_include_pad="no")),
    ("C24", "lp_pool", ("2",), dict(kernel_size=2)),
    ("C24", "lp_pool", (None,), dict(kernel_size=2)),
    ("C24", "lp_pool", (2 + 1j,), dict(kernel_size=2)),
    ("C24", "smooth_max_pool", (True,), dict(kernel_size=2)),
]


@pytest.mark.parametrize("cid,op,params,cfg", BAD, ids=[f"{b[0]}-{b[1]}" for b in BAD])
def test_constraint_error_matches_spec(cid, op, params, cfg):
    with pytest.raises(ValueError, match=f"^{cid}:") as spec_err:
        spec.OPS[op].function(X.numpy(), *params, **cfg)
    with pytest.raises(ValueError, match=f"^{cid}:") as impl_err:
        impl.OPS[op](X, *params, **cfg)
    assert str(impl_err.value) == str(spec_err.value)


def test_validation_does_not_depend_on_a_cache():
    impl.max_pool(X, kernel_size=2)  # a plan for kernel 2 is cached now
    with pytest.raises(ValueError, match=r"^C2:"):
        impl.max_pool(X, kernel_size=2.0)


# under transforms: the same error, not a NaN or an internal error
TRANSFORMED = [b for b in BAD if b[0] in ("C2", "C10", "C11", "C14", "C22", "C24")]


@pytest.mark.parametrize(
    "cid,op,params,cfg", TRANSFORMED, ids=[f"{b[0]}-{b[1]}-{i}" for i, b in enumerate(TRANSFORMED)]
)
@pytest.mark.parametrize("transform", ["grad", "vmap", "jvp", "compile"])
def test_constraint_error_under_transforms(cid, op, params, cfg, transform):
    params = [torch.tensor(float(p)) if isinstance(p, float) else p for p in params]

    def f(x):
        return impl.OPS[op](x, *params, **cfg)

    def call():
        if transform == "grad":
            return torch.func.grad(lambda x: f(x).sum())(X)
        if transform == "vmap":
            return torch.func.vmap(f)(X[None])
        if transform == "jvp":
            return torch.func.jvp(f, (X,), (torch.ones_like(X),))
        torch._dynamo.reset()
        return torch.compile(f, backend="aot_eager")(X)

    with pytest.raises(ValueError, match=f"^{cid}:"):
        call()


def test_c6_uses_the_dilated_kernel_where_torch_does_not():
    x = torch.randn(1, 1, 9, 9)
    cfg = dict(kernel_size=2, dilation=3, padding=2)  # eff = 4: padding 2 is allowed
    y, index = impl.max_pool(x, return_indices=True, **cfg)
    ey, eindex = spec.max_pool(x.numpy(), return_indices=True, **cfg)
    assert np.array_equal(y.numpy(), ey) and np.array_equal(index.numpy(), eindex)
    with pytest.raises(RuntimeError):
        torch.nn.functional.max_pool2d(x, 2, 1, 2, 3)


def test_c7_zero_extent():
    with pytest.raises(ValueError, match=r"^C7:"):
        impl.max_pool(torch.zeros(1, 1, 0, 3), kernel_size=(1, 1))


def test_the_checked_constraints_exist():
    assert {b[0] for b in BAD} | {"C7"} <= set(CONSTRAINTS)
