"""tinygrad / dilation-not-validated: a dilation of 0, a negative one or True is computed.

Registered in conformance/targets/deviations/tinygrad.toml. Tensor._pool checks neither
the sign nor the type of the dilation (kernel sizes and strides are checked by the shape
ops they reach): dilation 0 gives [1, 3] for [1, 2, 3, 4], kernel 2; dilation -1 gives
[4, 3, 4]; dilation True is 1. The spec (C4) asks for positive ints. Exits 1 while they are
accepted."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.arange(1.0, 5.0).reshape(1, 1, 4)
accepted = False
for dilation in (0, -1, True):
    try:
        got = Tensor(x).max_pool2d((2,), dilation=(dilation,)).numpy().ravel()
        accepted = True
    except Exception as exc:
        got = f"rejected: {exc}"
    try:
        spec.max_pool(x, kernel_size=(2,), dilation=(dilation,))
        want = "accepts"
    except spec.ConstraintError as exc:
        want = f"rejects: {exc}"
    print(f"dilation={dilation!r}: target {got}; spec {want}")
sys.exit(1 if accepted else 0)
