"""mlx / vjp-empty-input-raises: mx.vjp of AvgPool / MaxPool with overlapping windows raises
on an input with N = 0.

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the difference
exists."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec

x = np.zeros((0, 3, 1), dtype=np.float32)  # [N, L, C] with N = 0
cotangent = np.zeros((0, 2, 1), dtype=np.float32)
failed = False
for name, layer in (("AvgPool1d", nn.AvgPool1d(2, stride=1)), ("MaxPool1d", nn.MaxPool1d(2, 1))):
    print(f"{name} forward:", np.array(layer(mx.array(x))).shape, end="; ")
    try:
        _, (g,) = mx.vjp(layer, [mx.array(x)], [mx.array(cotangent)])
        print("VJP:", np.array(g).shape)
    except Exception as exc:
        failed = True
        print(f"VJP raised {type(exc).__name__}: {exc}")
(want,) = spec.vjp(
    "avg_pool",
    (x.transpose(0, 2, 1).astype(np.float64),),
    cotangent.transpose(0, 2, 1),
    kernel_size=2,
    stride=1,
)
print("spec VJP:", want.shape)
sys.exit(1 if failed else 0)
