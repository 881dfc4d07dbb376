"""torch-compile / lp-accepts-invalid-norm-type: lp_pool computes p = -2, NaN and inf (spec C10).

p < 0 and NaN go through x**p, p = inf is max_pool of |x| (p = -inf the smallest |x|); the spec
rejects all of them (p = inf only with sign="abs": torch's lp_pool is signed). p = 0 fails, by
accident (1.0 / norm_type: ZeroDivisionError while tracing).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec


def pool(x, p):
    return torch.compile(lambda t: F.lp_pool1d(t, p, 2), dynamic=False)(torch.tensor(x))


x = np.array([[[1.0, -2.0]]])
accepted = False
for p in (-2.0, float("nan"), float("inf")):
    try:
        got = pool(x, p)
        got, accepted = got.numpy().ravel(), True
    except Exception as exc:
        got = f"rejected: {type(exc).__name__}"
    try:
        want = spec.lp_pool(x, np.array(p), kernel_size=2, sign="signed", partial_window="rescaled")
    except spec.ConstraintError as exc:
        want = f"rejected: {exc}"
    print(f"p = {p}: target: {got}; spec: {want}")
sys.exit(1 if accepted else 0)
