"""torch / adaptive-avg-pool3d-float16-sum-overflows: a float16 bin sum overflows where the
mean is finite (adaptive_avg_pool3d to more than one cell).

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

top = float(np.finfo(np.float16).max)
x = np.array([0.5, 0.375, 0.5, 0.5, 0.375, 0.5]).reshape(1, 1, 1, 1, 6) * top
x = x.astype(np.float16).astype(np.float64)  # two bins whose float16 means are finite
got = F.adaptive_avg_pool3d(torch.tensor(x, dtype=torch.float16), (1, 1, 2)).numpy()
want = spec.adaptive_avg_pool(x, output_size=(1, 1, 2))
same = np.allclose(np.asarray(got, dtype=np.float64), want, rtol=1e-3)

print("target:", got.ravel())
print("spec:  ", want.ravel())
sys.exit(0 if same else 1)
