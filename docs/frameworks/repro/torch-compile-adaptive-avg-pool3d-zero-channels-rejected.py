"""torch-compile / adaptive-avg-pool3d-zero-channels-rejected: adaptive_avg_pool3d rejects a
batched input with C = 0 channels unless the output is 1 cell per axis; the spec returns an
empty [N, 0, *O].

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.zeros((1, 0, 2, 2, 2))
try:
    got = torch.compile(lambda t: F.adaptive_avg_pool3d(t, 2), dynamic=False)(torch.tensor(x))
    got = f"shape {tuple(got.shape)}"
except Exception as exc:
    got = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
want = spec.adaptive_avg_pool(x, output_size=(2, 2, 2))

print("target:", got)
print("spec:   shape", want.shape)
sys.exit(0 if got == f"shape {want.shape}" else 1)
