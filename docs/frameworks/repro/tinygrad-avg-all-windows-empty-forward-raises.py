"""tinygrad / avg-all-windows-empty-forward-raises: avg_pool2d raises where every window lies
in the padding.

Registered in conformance/targets/deviations/tinygrad.toml. x of shape [2, 2, 1] (N = 2,
C = 2), kernel 2, dilation 2, padding 3: both windows of the axis read only padding, so the
spec's average is 0 everywhere; tinygrad raises "ValueError: bad reshape: () -> (3, 2)"
(with N = 1 and C = 1, or an input of ones, it computes the zeros). Exits 1 while it raises."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.array([[[0.5], [-1.0]], [[2.0], [0.25]]])
want = spec.avg_pool(x, kernel_size=2, stride=2, dilation=2, padding=3)
try:
    got = Tensor(x.astype(np.float32)).avg_pool2d((2,), dilation=(2,), padding=3).numpy()
    failed = False
except ValueError as exc:
    got, failed = f"raises: {exc}", True
print("target:", got if failed else got.ravel())
print("spec:  ", want.ravel())
sys.exit(1 if failed else 0)
