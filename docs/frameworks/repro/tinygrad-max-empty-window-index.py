"""tinygrad / max-empty-window-index: a window of padding only gets index plane_size - 2**31.

Registered in conformance/targets/deviations/tinygrad.toml. max_pool2d(return_indices=True)
pads the index grid with the int32 minimum and returns plane_size - max(index), which for a
window without a real cell wraps around: -2147483647 for a one-cell plane, where the spec
gives -1. Exits 1 while the difference exists."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.array([[[2.0]]])
value, index = Tensor(x).max_pool2d((2,), padding=1, dilation=2, return_indices=True)
got = index.numpy()
want = spec.max_pool(x, kernel_size=2, padding=1, dilation=2, return_indices=True)
print("target (value, index):", value.numpy().ravel(), got.ravel())
print("spec   (value, index):", want[0].ravel(), want[1].ravel())
sys.exit(0 if np.array_equal(got, want[1]) else 1)
