"""tinygrad / rank-is-kernel-length: pooling takes any input with len(kernel_size) axes or more.

Registered in conformance/targets/deviations/tinygrad.toml. max_pool2d / avg_pool2d pool
the last len(kernel_size) axes of a tensor of any rank ("this implementation is not
limited to only 2d pooling"): a [C, *S] input with a kernel of d + 1 entries is pooled on
its channel axis too, where the spec (C1) asks for rank d + 1 or d + 2. Exits 1 while it is
accepted."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.arange(1.0, 5.0).reshape(2, 2)  # no batch or channel axis for a 2-D kernel
got = Tensor(x).max_pool2d((2, 2)).numpy()
print("target:", got, "(the channel axis pooled too)")
try:
    spec.max_pool(x, kernel_size=(2, 2))
except spec.ConstraintError as exc:
    print("spec:   rejects:", exc)
    sys.exit(1)
print("spec:   accepts")
sys.exit(0)
