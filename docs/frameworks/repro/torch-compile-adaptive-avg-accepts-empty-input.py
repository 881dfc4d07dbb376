"""torch-compile / adaptive-avg-accepts-empty-input: adaptive_avg_pool1d of a length-0 input
returns NaN (0 / 0) instead of rejecting it (spec C7); adaptive_max_pool1d rejects it.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.zeros((1, 1, 0))
try:
    got = torch.compile(lambda t: F.adaptive_avg_pool1d(t, 1), dynamic=False)(torch.tensor(x))
    got, accepted = got.numpy(), True
except Exception as exc:
    got, accepted = f"rejected: {type(exc).__name__}", False
try:
    want = spec.adaptive_avg_pool(x, output_size=(1,))
except spec.ConstraintError as exc:
    want = f"rejected: {exc}"

print("target:", got)
print("spec:  ", want)
sys.exit(1 if accepted else 0)
