"""tinygrad / vjp-stride-past-int32-hangs: the VJP with a stride of 2**31 does not finish.

Registered in conformance/targets/deviations/tinygrad.toml (skip = true: the suite never
calls it). A stride >= 2**31 is valid (one window per axis); tinygrad's forward computes it
([1, -2, 3, 0, 5], kernel 2: max 1, average -0.5), but .backward() through it runs for
minutes (the gradient of the strided view is a pad to the strided extent). The call runs
here in a child process given 30 s; exits 1 while it does not finish in them."""

import subprocess
import sys

import numpy as np

from ndpool import spec

CHILD = """
import os
os.environ["DEV"] = "PYTHON"
import numpy as np
from tinygrad import Tensor
x = Tensor(np.array([[[1.0, -2.0, 3.0, 0.0, 5.0]]]))
y = x.max_pool2d((2,), stride=(2**31,))
y.backward(Tensor(np.ones(y.shape)))
print(x.grad.numpy().ravel())
"""
x = np.array([[[1.0, -2.0, 3.0, 0.0, 5.0]]])
(want,) = spec.vjp("max_pool", (x,), np.ones((1, 1, 1)), kernel_size=2, stride=2**31)
try:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=30)
    got = done.stdout.strip() or done.stderr.strip().splitlines()[-1]
    finished = done.returncode == 0
except subprocess.TimeoutExpired:
    got, finished = "no result in 30 s", False
print("target:", got)
print("spec:  ", want.ravel())
sys.exit(0 if finished else 1)
