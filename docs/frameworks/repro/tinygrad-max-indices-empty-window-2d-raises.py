"""tinygrad / max-indices-empty-window-2d-raises: 2-D max_pool2d(return_indices=True) over
windows of padding only raises TypeError on the PYTHON device.

Registered in conformance/targets/deviations/tinygrad.toml. A 3 x 3 input, kernel 1,
padding 1: the device's interpreter (ops_python.py) fails with "int() argument must be a
string, a bytes-like object or a real number, not 'list'". The spec gives -inf and index -1
for the windows of padding only, and each cell with its own index elsewhere. Exits 1 while
the call raises."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.arange(9.0).reshape(1, 1, 3, 3)
want = spec.max_pool(x, kernel_size=(1, 1), padding=1, return_indices=True)
print("spec indices:", np.asarray(want[1]).ravel())
try:
    value, index = Tensor(x).max_pool2d((1, 1), padding=1, return_indices=True)
    print("target indices:", index.numpy().ravel())
except TypeError as exc:
    print(f"target raises TypeError: {exc}")
    sys.exit(1)
sys.exit(0)
