"""torch / avg-sum-overflows: a float32 window sum overflows where the mean is finite.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

top = np.finfo(np.float32).max
x = np.array([[[0.5, 0.375, 0.5]]]) * top  # a float32 window whose mean is finite
got = F.avg_pool1d(torch.tensor(x, dtype=torch.float32), 3).numpy()
want = spec.avg_pool(x, kernel_size=3)
same = np.allclose(np.asarray(got, dtype=np.float64), want, rtol=1e-6)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
