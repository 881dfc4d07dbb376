"""tinygrad / kernel-size-zero-accepted: a kernel size of 0 is computed, not rejected.

Registered in conformance/targets/deviations/tinygrad.toml. max_pool2d and avg_pool2d with
kernel (0,), stride 1 on [1, 2, 3, 4] give five windows of no cell: -inf each for the max,
NaN each for the average. A negative kernel size, a float and a bool are rejected; the spec
(C2) asks for positive ints. Exits 1 while a kernel size of 0 is accepted."""

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
for name in ("max_pool2d", "avg_pool2d"):
    try:
        got = getattr(Tensor(x), name)((0,), stride=(1,)).numpy().ravel()
        accepted = True
    except Exception as exc:
        got = f"rejected: {type(exc).__name__}: {exc}"
    print(f"{name}(kernel_size=(0,)): target {got}")
try:
    spec.max_pool(x, kernel_size=(0,), stride=(1,))
    print("spec: accepts")
except spec.ConstraintError as exc:
    print(f"spec: rejects: {exc}")
sys.exit(1 if accepted else 0)
