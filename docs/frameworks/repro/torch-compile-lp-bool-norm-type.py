"""torch-compile / lp-bool-norm-type: lp_pool takes norm_type=True as p = 1 (a bool is an int in
Python) where the spec (C24) takes real numbers only.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[1.0, 2.0]]])
try:
    got = torch.compile(lambda t: F.lp_pool1d(t, True, 2), dynamic=False)(torch.tensor(x))
    got, accepted = got.numpy(), True  # sum pooling: 3
except Exception as exc:
    got, accepted = f"rejected: {type(exc).__name__}", False
try:
    want = spec.lp_pool(x, True, kernel_size=2, sign="signed", partial_window="rescaled")
except spec.ConstraintError as exc:
    want = f"rejected: {exc}"

print("target:", got)
print("spec:  ", want)
sys.exit(1 if accepted else 0)
