"""mlx / max-jvp-empty-input-raises: mx.jvp of MaxPool raises on an input with N = 0.

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the difference
exists."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec

x = np.zeros((0, 2, 1), dtype=np.float32)  # [N, L, C] with N = 0
print("forward:", np.array(nn.MaxPool1d(2)(mx.array(x))).shape)
try:
    _, (t,) = mx.jvp(lambda a: nn.MaxPool1d(2)(a), [mx.array(x)], [mx.array(x)])
    got = np.array(t).shape
except Exception as exc:
    got = f"raised {type(exc).__name__}: {exc}"
ncl = x.transpose(0, 2, 1).astype(np.float64)
_, want = spec.jvp("max_pool", (ncl,), (ncl,), kernel_size=2)

print("target JVP:", got)
print("spec   JVP:", want.shape)
sys.exit(0 if not isinstance(got, str) else 1)
