"""torch-compile / max-pool3d-vjp-stride-past-int32: with a stride of 2**31 or more (one
window per axis), the VJP of compiled max_pool3d fails, where its forward and the 1-d and
2-d VJPs compute.

x of shape [1, 1, 1, 1, 5] holding 0..4, kernel (1, 1, 2), stride (1, 1, 2**31): one window,
[0, 1], whose maximum 1 gets the whole cotangent in the spec's VJP; compiled F.max_pool3d's
backward raises RuntimeError ("value cannot be converted to type int without overflow").

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.arange(5.0).reshape(1, 1, 1, 1, 5)
CFG = dict(kernel_size=(1, 1, 2), stride=(1, 1, 2**31))
(want,) = spec.vjp("max_pool", (x,), np.ones((1, 1, 1, 1, 1)), **CFG)
t = torch.tensor(x, requires_grad=True)
y = torch.compile(lambda a: F.max_pool3d(a, **CFG), dynamic=False)(t)
try:
    (got,) = torch.autograd.grad(y, [t], torch.ones_like(y))
    got = got.numpy().ravel()
except RuntimeError as exc:
    got = f"raised RuntimeError: {exc}"
print("compiled VJP:", got, "\nspec VJP:    ", want.ravel())
sys.exit(0 if isinstance(got, np.ndarray) and np.array_equal(got, want.ravel()) else 1)
