"""torch / adaptive-avg-accepts-empty-input: adaptive_avg_pool of an empty extent returns NaN.

adaptive_avg_pool*d accepts a spatial extent of 0 and returns 0/0 = NaN, where the spec (C7)
rejects it (adaptive_max_pool*d rejects it too).

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.zeros((1, 1, 0))
try:
    got = F.adaptive_avg_pool1d(torch.tensor(x), 1).numpy()
except RuntimeError as exc:
    got = f"rejected: {exc}"
try:
    want = spec.adaptive_avg_pool(x, output_size=1)
except spec.ConstraintError as exc:
    want = f"rejected: {exc}"
accepted = isinstance(want, str) and not isinstance(got, str)

print("target:", got)
print("spec:  ", want)
sys.exit(1 if accepted else 0)
