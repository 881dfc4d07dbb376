"""mlx / max-vjp-ties-split: mx.vjp of MaxPool splits the cotangent among tied maxima.

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the difference
exists."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec

x = np.array([[[1.0], [1.0]]], dtype=np.float32)  # [N, L, C]: one channel, a tie
cotangent = np.array([[[1.0]]], dtype=np.float32)
_, (got,) = mx.vjp(lambda a: nn.MaxPool1d(2)(a), [mx.array(x)], [mx.array(cotangent)])
got = np.array(got).transpose(0, 2, 1)  # back to the spec's [N, C, L]
(want,) = spec.vjp(
    "max_pool",
    (x.transpose(0, 2, 1).astype(np.float64),),
    cotangent.transpose(0, 2, 1),
    kernel_size=2,
)

print("target:", got.ravel())
print("spec:  ", want.ravel())
sys.exit(0 if np.array_equal(got, want) else 1)
