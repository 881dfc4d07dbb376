"""mlx / accepts-input-shorter-than-kernel: the pooling layers return an empty output for
an input one cell shorter than the kernel (spec C8).

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the difference
exists."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec

x = np.array([[[1.0]]], dtype=np.float32)  # [N, L, C]: L = 1
try:
    got = np.array(nn.MaxPool1d(2)(mx.array(x))).shape
except Exception as exc:
    got = f"rejected: {type(exc).__name__}: {exc}"
try:
    want = spec.max_pool(x.transpose(0, 2, 1).astype(np.float64), kernel_size=2).shape
except ValueError as exc:
    want = f"rejected: {exc}"

print("target:", got)
print("spec:  ", want)
sys.exit(0 if isinstance(got, str) == isinstance(want, str) else 1)
