"""torch-compile / adaptive-max-pool3d-nan-last-wins: the compiled adaptive_max_pool3d keeps the
LAST NaN of a bin where the spec selects the first.

Where the output size does not divide the input and is not 1 cell per axis, Inductor calls
eager's CPU kernel, which tests `val > max || isnan(val)` (eager torch's nan-last-wins): a
[1, 1, 3] plane [NaN, NaN, 1] to (1, 1, 2) bins [NaN, NaN], [NaN, 1]: index 1 for the first bin,
where the spec gives 0; the gradient follows the index.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([np.nan, np.nan, 1.0]).reshape(1, 1, 1, 1, 3)
size = (1, 1, 2)
y, index = torch.compile(
    lambda t: F.adaptive_max_pool3d(t, size, return_indices=True), dynamic=False
)(torch.tensor(x))
xt = torch.tensor(x, requires_grad=True)
yt = torch.compile(lambda t: F.adaptive_max_pool3d(t, size), dynamic=False)(xt)
(grad,) = torch.autograd.grad(yt, xt, torch.ones_like(yt))
want_y, want_index = spec.adaptive_max_pool(x, output_size=size, return_indices=True)
(want_grad,) = spec.vjp("adaptive_max_pool", (x,), np.ones((1, 1, 1, 1, 2)), output_size=size)
same = np.array_equal(index.numpy(), want_index) and np.array_equal(grad.numpy(), want_grad)

print("target:", y.numpy().ravel(), "index", index.numpy().ravel(), "VJP", grad.numpy().ravel())
print("spec:  ", want_y.ravel(), "index", want_index.ravel(), "VJP", want_grad.ravel())
sys.exit(0 if same else 1)
