"""tinygrad / avg-sum-overflows: a window sum overflows where the mean is finite.

Registered in conformance/targets/deviations/tinygrad.toml. avg_pool2d is the window's
mean() (or sum() / count), a sum in the input's dtype: the average of [0.5, 0.375, 0.5]
times the largest float32 is inf, and so in every dtype (float16: [32752, 24560, 32752]).
The spec's average does not overflow where its result does not. Exits 1 while the
difference exists."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

top = np.finfo(np.float32).max
x = np.array([[[0.5, 0.375, 0.5]]]) * top  # float32 values whose mean is finite
got = Tensor(x.astype(np.float32)).avg_pool2d((3,)).numpy()
want = spec.avg_pool(x, kernel_size=3)
print("target:", got)
print("spec:  ", want)
sys.exit(0 if np.allclose(np.asarray(got, dtype=np.float64), want, rtol=1e-6) else 1)
