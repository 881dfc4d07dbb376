"""tinygrad / max-vjp-nan: the VJP of max in a NaN window is NaN everywhere, or misplaced.

Registered in conformance/targets/deviations/tinygrad.toml. The gradient of a max
reduction is cotangent * mask / sum(mask) with mask = (x == max) (tinygrad/mixin/gradient.py,
reduce_gradient): where the max is NaN the mask is empty and 0/0 makes every cell of the
window NaN; where the NaN was dropped (max-nan-not-propagated) the cotangent goes to the
largest number. The spec sends it to the first NaN. Exits 1 while the difference exists."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

same = True
for cells in ([np.nan, 1.0], [1.0, np.nan, 2.0]):
    x = np.array([[cells]])
    t = Tensor(x)
    y = t.max_pool2d((len(cells),))
    y.backward(Tensor(np.ones(y.shape)))
    got = t.grad.numpy()
    (want,) = spec.vjp("max_pool", (x,), np.ones((1, 1, 1)), kernel_size=len(cells))
    print("x:", cells, " target:", got.ravel(), " spec:", want.ravel())
    same = same and np.array_equal(got, want, equal_nan=True)
sys.exit(0 if same else 1)
