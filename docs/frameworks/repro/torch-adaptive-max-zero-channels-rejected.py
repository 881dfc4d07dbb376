"""torch / adaptive-max-zero-channels-rejected: adaptive_max_pool rejects a batched C = 0 input.

F.adaptive_max_pool*d rejects a batched input with C = 0 channels ("Expected input to have
non-zero size for non-batch dimensions"); the spec returns an empty output of shape
[N, 0, *O]. torch accepts the unbatched [0, *S] (it takes the leading axis as a batch), and
adaptive_avg_pool*d accepts both.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.zeros((1, 0, 2))
try:
    got = f"shape {tuple(F.adaptive_max_pool1d(torch.tensor(x), 1).shape)}"
except RuntimeError as exc:
    got = f"rejected: {exc}"
want = spec.adaptive_max_pool(x, output_size=1)

print("target:", got)
print("target unbatched [0, 2]: shape", tuple(F.adaptive_max_pool1d(torch.tensor(x[0]), 1).shape))
print("spec:   shape", want.shape)
sys.exit(1 if got.startswith("rejected") else 0)
