"""tinygrad / accepts-negative-padding: a negative padding crops the input.

Registered in conformance/targets/deviations/tinygrad.toml. avg_pool2d / max_pool2d pass
the padding to a constant pad without checking its sign, and a negative pad shrinks:
padding -1 on [1, 2, 3, 4], kernel 2, pools [2, 3]. The spec (C5) asks for padding >= 0.
Exits 1 while it is accepted."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.arange(1.0, 5.0).reshape(1, 1, 4)
got = Tensor(x).max_pool2d((2,), padding=-1).numpy()
print("target:", got)
try:
    spec.max_pool(x, kernel_size=2, padding=-1)
except spec.ConstraintError as exc:
    print("spec:   rejects:", exc)
    sys.exit(1)
print("spec:   accepts")
sys.exit(0)
