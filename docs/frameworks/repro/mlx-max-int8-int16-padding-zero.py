"""mlx / max-int8-int16-padding-zero: MaxPool's -inf padding becomes 0 in int8 / int16, so a
padded window of negative values gives 0.

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the difference
exists."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec

differs = False
for dtype in ("int8", "int16"):
    x = np.array([[[-3]]], dtype=dtype)  # [N, L, C]: one cell, one channel
    got = np.array(nn.MaxPool1d(2, stride=1, padding=1)(mx.array(x))).ravel()
    want = spec.max_pool(x.transpose(0, 2, 1), kernel_size=2, stride=1, padding=1).ravel()
    print(f"{dtype} target:", got)
    print(f"{dtype} spec:  ", want)
    differs |= not np.array_equal(got, want)
sys.exit(1 if differs else 0)
