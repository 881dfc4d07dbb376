"""torch / padding-limit-ignores-dilation: max_pool rejects padding > kernel // 2 with dilation.

PyTorch checks padding <= kernel_size // 2 and ignores dilation; the spec's C6 allows up to
half the effective kernel, dilation * (kernel - 1) + 1. Kernel 2 with dilation 3 spans 4
cells, so padding 2 is valid for the spec and rejected by max_pool1d/2d/3d.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[0.0, 1.0, 2.0]]])
try:
    got = F.max_pool1d(torch.tensor(x), 2, dilation=3, padding=2).numpy()
except RuntimeError as exc:
    got = f"rejected: {exc}"
want = spec.max_pool(x, kernel_size=2, dilation=3, padding=2)
same = not isinstance(got, str) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
