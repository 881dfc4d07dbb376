"""tinygrad / ceil-drops-windows-in-end-padding: ceil_mode drops every window that starts in
the end padding.

Registered in conformance/targets/deviations/tinygrad.toml. With ceil_mode=True tinygrad
shortens the end padding so that no window starts in it (Tensor._apply_ceil_mode: "we
decrease padding in the case that a sliding window starts in the end padded region"), so
with padding past half the kernel ceil_mode gives fewer windows than floor mode:
x = [1, 2], kernel 1, padding 2 gives 6 windows without ceil_mode and 4 with it. Its
docstring says only "output shape will be determined using ceil division" (6 here); the
spec drops only a last window that starts in the end padding (5). Exits 1 while they
differ."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before
x = np.array([[[1.0, 2.0]]])
same = True
for ceil_mode in (False, True):
    got = Tensor(x).max_pool2d((1,), padding=2, ceil_mode=ceil_mode).numpy()
    want = spec.max_pool(x, kernel_size=1, padding=2, ceil_mode=ceil_mode)
    print(f"ceil_mode={ceil_mode}: target {got.ravel()}; spec {want.ravel()}")
    same = same and got.shape == want.shape and np.array_equal(got, want)
sys.exit(0 if same else 1)
