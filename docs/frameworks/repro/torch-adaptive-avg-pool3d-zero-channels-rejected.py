"""torch / adaptive-avg-pool3d-zero-channels-rejected: adaptive_avg_pool3d rejects C = 0.

adaptive_avg_pool3d rejects a batched input with C = 0 channels ("Expected input to have
non-zero size for non-batch dimensions") unless the output is 1 cell per axis (where it takes
the mean); the spec returns an empty output of shape [N, 0, *O]. adaptive_avg_pool1d/2d and
an unbatched [0, *S] input compute it.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.zeros((1, 0, 1, 1, 2))
try:
    got = f"shape {tuple(F.adaptive_avg_pool3d(torch.tensor(x), (1, 1, 2)).shape)}"
except RuntimeError as exc:
    got = f"rejected: {exc}"
want = spec.adaptive_avg_pool(x, output_size=(1, 1, 2))

print("target:", got)
print("target, output (1, 1, 1): shape", tuple(F.adaptive_avg_pool3d(torch.tensor(x), 1).shape))
print("spec:   shape", want.shape)
sys.exit(1 if got.startswith("rejected") else 0)
