"""tinygrad / max-vjp-neg-inf-window-padding: in a window of -inf cells the padding takes a
share of the cotangent.

Registered in conformance/targets/deviations/tinygrad.toml. max_pool2d pads with the
dtype's minimum, -inf for the float dtypes, so where a window's real cells are all -inf the
padded cells tie with them, and the gradient of max (cotangent * mask / sum(mask), mask =
x == max) gives the padding its share, which is lost: x = [-inf], kernel 2, padding (0, 1),
cotangent [2] gives [1]; the spec ignores padded cells and gives [2]. Exits 1 while the
difference exists."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.array([[[-np.inf]]])
t = Tensor(x)
y = t.max_pool2d((2,), padding=(0, 1))
y.backward(Tensor(np.full(y.shape, 2.0)))
got = t.grad.numpy()
(want,) = spec.vjp("max_pool", (x,), np.full((1, 1, 1), 2.0), kernel_size=2, padding=((0, 1),))
print("target:", got.ravel())
print("spec:  ", want.ravel())
sys.exit(0 if np.array_equal(got, want) else 1)
