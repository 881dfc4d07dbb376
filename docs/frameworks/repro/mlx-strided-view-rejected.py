"""mlx / strided-view-rejected: MaxPool1d with overlapping windows raises on a step-2 slice
of a one-channel array (mx.as_strided rejects the view that flatten leaves strided).

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the difference
exists."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec

view = mx.arange(8.0).reshape(1, 8, 1)[:, ::2, :]  # [N, L, C]: the values [0, 2, 4, 6], a view
try:
    got = np.array(nn.MaxPool1d(2, stride=1)(view)).ravel()
except Exception as exc:
    got = f"raised {type(exc).__name__}: {exc}"
want = spec.max_pool(np.array(view).transpose(0, 2, 1).astype(np.float64), kernel_size=2, stride=1)
print("as_strided alone:", end=" ")
try:
    print(np.array(mx.as_strided(mx.arange(4.0)[::2], (2,), (1,))))
except Exception as exc:
    print(f"raised {type(exc).__name__}: {exc}")

print("target:", got)
print("spec:  ", want.ravel())
sys.exit(0 if not isinstance(got, str) and np.array_equal(got, want.ravel()) else 1)
