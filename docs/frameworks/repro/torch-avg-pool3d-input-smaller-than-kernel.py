"""torch / avg-pool3d-input-smaller-than-kernel: avg_pool3d needs the unpadded input >= kernel.

avg_pool3d rejects an input extent below the kernel ("input image ... smaller than kernel
size") even when the padding makes the padded extent long enough; the spec (C8) needs only
the padded extent (and the output) to be long enough, and avg_pool1d/2d agree with it.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.ones((1, 1, 1, 1, 1))  # extent 1 on every axis, kernel 2 on the last, padding 1 there
try:
    got = F.avg_pool3d(torch.tensor(x), (1, 1, 2), padding=(0, 0, 1)).numpy()
except RuntimeError as exc:
    got = f"rejected: {exc}"
want = spec.avg_pool(x, kernel_size=(1, 1, 2), padding=(0, 0, 1))
same = not isinstance(got, str) and np.array_equal(got, want)

print("target avg_pool3d:", got)
print("target avg_pool1d:", F.avg_pool1d(torch.tensor(x[0, 0, 0]), 2, padding=1).numpy().ravel())
print("spec:             ", want.ravel())
sys.exit(0 if same else 1)
