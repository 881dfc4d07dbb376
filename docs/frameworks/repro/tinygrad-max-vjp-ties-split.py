"""tinygrad / max-vjp-ties-split: the VJP of max splits the cotangent among tied maxima.

Registered in conformance/targets/deviations/tinygrad.toml. The gradient of a max
reduction is cotangent * mask / sum(mask) with mask = (x == max) (tinygrad/mixin/gradient.py,
reduce_gradient), so tied cells share it; the spec (and tinygrad's own max_pool2d
return_indices, which picks the first) sends it to the first maximizer. Exits 1 while the
difference exists."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.array([[[1.0, 1.0]]])
t = Tensor(x)
y = t.max_pool2d((2,))
y.backward(Tensor(np.ones(y.shape)))
got = t.grad.numpy()
(want,) = spec.vjp("max_pool", (x,), np.ones((1, 1, 1)), kernel_size=2)
index = Tensor(x).max_pool2d((2,), return_indices=True)[1].numpy()
print("target:", got.ravel(), "(its own index of the max:", index.ravel(), ")")
print("spec:  ", want.ravel())
sys.exit(0 if np.array_equal(got, want) else 1)
