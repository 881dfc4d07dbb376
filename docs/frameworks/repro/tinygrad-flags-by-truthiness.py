"""tinygrad / flags-by-truthiness: ceil_mode, count_include_pad and return_indices of any type.

Registered in conformance/targets/deviations/tinygrad.toml. The flags are read with
`if ceil_mode:` / `if not count_include_pad:` / `if not return_indices:`, so "no", 1 or
"False" count as True and 0, None or "" as False, where the spec (C22) asks for a bool.
Exits 1 while ceil_mode="no" is taken (as True)."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.arange(1.0, 5.0).reshape(1, 1, 4)
got = Tensor(x).max_pool2d((3,), ceil_mode="no").numpy()
print("target:", got, "(as ceil_mode=True)")
try:
    spec.max_pool(x, kernel_size=3, ceil_mode="no")
except spec.ConstraintError as exc:
    print("spec:   rejects:", exc)
    sys.exit(1)
print("spec:   accepts")
sys.exit(0)
