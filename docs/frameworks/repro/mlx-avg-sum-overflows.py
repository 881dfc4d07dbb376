"""mlx / avg-sum-overflows: AvgPool's window sum overflows in float16 where the mean is finite.

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the difference
exists."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec

x = np.array([[[32752.0], [24560.0], [32752.0]]], dtype=np.float16)  # [N, L, C]
got = np.array(nn.AvgPool1d(3)(mx.array(x))).astype(np.float64).ravel()
want = spec.avg_pool(x.transpose(0, 2, 1).astype(np.float64), kernel_size=3).ravel()

print("target:", got)
print("spec:  ", want)
sys.exit(0 if np.allclose(got, want, rtol=1e-3) else 1)
