"""tinygrad / float16-subnormals-flushed: float16 subnormals become zero on the PYTHON device.

Registered in conformance/targets/deviations/tinygrad.toml. The PYTHON device supports
half only on Python >= 3.12 (PythonRenderer.supported_dtypes); below it float16 is
emulated, and every computed float16 value that is subnormal comes out 0: the max (or the
average) of [1.8e-06, 3.0e-06, 4.2e-06] is 0. float32, float64 and bfloat16 keep their
subnormals. Exits 1 while the difference exists."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor, dtypes
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.array([[[1.7881393432617188e-06, 2.9802322387695312e-06, 4.172325134277344e-06]]])
t = Tensor(x.astype(np.float16))
got = t.max_pool2d((3,)).cast(dtypes.float64).numpy()
got_avg = t.avg_pool2d((3,)).cast(dtypes.float64).numpy()
want = spec.max_pool(x, kernel_size=3)
want_avg = spec.avg_pool(x, kernel_size=3)
print("python:", sys.version.split()[0])
print("target max, avg:", got.ravel(), got_avg.ravel())
print("spec   max, avg:", want.ravel(), want_avg.ravel())
same = np.array_equal(got, want) and abs(got_avg.item() - want_avg.item()) <= 1e-7
sys.exit(0 if same else 1)
