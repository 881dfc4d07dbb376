"""tinygrad / max-nan-not-propagated: a NaN in a max window is kept or dropped by its position.

Registered in conformance/targets/deviations/tinygrad.toml. On tinygrad's PYTHON device
(the target's) max is Python's built-in max(), whose comparisons with NaN are false, so
whether a window's NaN survives depends on where it stands: [1, nan, 2] gives 2, where the
spec propagates the NaN. Where the value is NaN, the index is the plane's size, one past
its last cell ([nan, 3]: index 2), where the spec gives the first NaN's. Exits 1 while the
difference exists."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before
same = True
for cells in ([1.0, np.nan, 2.0], [np.nan, 3.0]):
    x = np.array([[cells]])
    got = [a.numpy() for a in Tensor(x).max_pool2d((len(cells),), return_indices=True)]
    want = spec.max_pool(x, kernel_size=len(cells), return_indices=True)
    print("x:", cells)
    print("  target (value, index):", got[0].ravel(), got[1].ravel())
    print("  spec   (value, index):", want[0].ravel(), want[1].ravel())
    same = same and all(np.array_equal(g, w, equal_nan=True) for g, w in zip(got, want))
sys.exit(0 if same else 1)
