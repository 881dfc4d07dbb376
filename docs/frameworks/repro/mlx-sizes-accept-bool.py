"""mlx / sizes-accept-bool: the pooling layers take kernel_size=True as 1 (spec C2).

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the difference
exists."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec

x = np.array([[[1.0], [2.0]]], dtype=np.float32)  # [N, L, C]
try:
    got = np.array(nn.MaxPool1d(kernel_size=True)(mx.array(x))).ravel()
except Exception as exc:
    got = f"rejected: {type(exc).__name__}: {exc}"
try:
    want = spec.max_pool(x.transpose(0, 2, 1).astype(np.float64), kernel_size=True)
except ValueError as exc:
    want = f"rejected: {exc}"

print("target:", got)
print("spec:  ", want)
sys.exit(0 if isinstance(got, str) == isinstance(want, str) else 1)
