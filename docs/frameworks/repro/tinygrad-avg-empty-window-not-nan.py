"""tinygrad / avg-empty-window-not-nan: count_include_pad=False gives a window of padding only a
neighbour's value.

Registered in conformance/targets/deviations/tinygrad.toml. avg_pool2d(count_include_pad=
False) is pool(x).sum / pool(ones).sum; for a window of padding only both sums are 0, and
0/0 is NaN (the spec's value: the mean of no cells). tinygrad's fused division gives a
number instead: x = [2], kernel 2, stride 1, padding 2 gives [2, 2, 2, 2], the spec
[nan, 2, 2, nan]. The two sums alone are right ([0, 2, 2, 0] and [0, 1, 1, 0]). Exits 1
while the difference exists."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before
x = np.array([[[2.0]]])
got = Tensor(x).avg_pool2d((2,), stride=1, padding=2, count_include_pad=False).numpy()
want = spec.avg_pool(x, kernel_size=2, stride=1, padding=2, count_include_pad=False)
print("target:", got.ravel())
print("spec:  ", want.ravel())
sys.exit(0 if np.array_equal(got, want, equal_nan=True) else 1)
