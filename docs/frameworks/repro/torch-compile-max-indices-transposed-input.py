"""torch-compile / max-indices-transposed-input: compiled max pooling with indices, on an
input whose spatial axes are laid out in reversed memory order, can return the index of
another cell than the maximum (eager torch returns the right one).

x of shape [1, 1, 2, 5] holding 0..9 once each, stored transposed (strides (10, 10, 1, 2)),
kernel (2, 3), dilation (1, 2): the maximum 9 stands at row-major index 7 of the plane;
compiled F.max_pool2d(..., return_indices=True) gives 5, its offset in memory.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([8.0, 4.0, 7.0, 0.0, 1.0, 2.0, 5.0, 9.0, 6.0, 3.0]).reshape(1, 1, 2, 5)
t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 1, 3, 2))).transpose(2, 3)
assert t.stride() == (10, 10, 1, 2) and np.array_equal(t.numpy(), x)


def pool(a):
    return F.max_pool2d(a, (2, 3), dilation=(1, 2), return_indices=True)


got = torch.compile(pool, dynamic=False)(t)[1].numpy().ravel()
eager = pool(t)[1].numpy().ravel()
want = spec.max_pool(x, kernel_size=(2, 3), dilation=(1, 2), return_indices=True)[1].ravel()
print("compiled:", got, "eager:", eager, "spec:", want)
sys.exit(0 if np.array_equal(got, want) else 1)
