"""mlx / max-signed-zero-tie-inconsistent: the same window [-0.0, +0.0] gives -0.0 from 1-D
MaxPool (the first, as the spec's default) and +0.0 from 2-D MaxPool (the last).

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the 2-D pooling
differs from the spec's default (signed_zeros="tie": the first of tied zeros)."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec


def same(a, b):
    return np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b))


x1 = np.array([[[-0.0], [0.0]]], dtype=np.float32)  # [N, L, C]
one_d = np.array(nn.MaxPool1d(2)(mx.array(x1)))
x2 = np.array([[[[-0.0], [-0.0]], [[0.0], [-2.0]]]], dtype=np.float32)  # [N, H, W, C]
two_d = np.array(nn.MaxPool2d((2, 1))(mx.array(x2))).transpose(0, 3, 1, 2)  # [N, C, H, W]
want = spec.max_pool(x2.transpose(0, 3, 1, 2).astype(np.float64), kernel_size=(2, 1))

print("target 1-D, window [-0.0, +0.0]:", one_d.ravel())
print("target 2-D, windows [-0.0, +0.0], [-0.0, -2.0]:", two_d.ravel())
print("spec   2-D:                                   ", want.ravel())
sys.exit(0 if same(two_d, want) else 1)
