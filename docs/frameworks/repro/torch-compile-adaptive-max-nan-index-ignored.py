"""torch-compile / adaptive-max-nan-index-ignored: the compiled adaptive_max_pool1d/2d gives a
bin whose NaN follows a number the index of a number, and the VJP goes there.

x = [-1, -3, -3, NaN] to 3 bins: [-1, -3], [-3, -3], [-3, NaN]. The last bin's value is NaN, as
in the spec, but its index is 2 (the -3) where the spec's is 3 (the NaN), and the gradient goes
to cell 2. Inductor's own lowering (an output size that does not divide the input, and is not 1
cell per axis) tracks the index with `value > max`, which a NaN never passes, while the value
is `maximum` (NaN-propagating): the index is the first maximum of the cells before the bin's
first NaN (the first cell if that is the NaN).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[-1.0, -3.0, -3.0, np.nan]]])
y, index = torch.compile(lambda t: F.adaptive_max_pool1d(t, 3, return_indices=True), dynamic=False)(
    torch.tensor(x)
)
xt = torch.tensor(x, requires_grad=True)
yt = torch.compile(lambda t: F.adaptive_max_pool1d(t, 3), dynamic=False)(xt)
(grad,) = torch.autograd.grad(yt, xt, torch.ones_like(yt))
want_y, want_index = spec.adaptive_max_pool(x, output_size=(3,), return_indices=True)
(want_grad,) = spec.vjp("adaptive_max_pool", (x,), np.ones((1, 1, 3)), output_size=(3,))
same = np.array_equal(index.numpy(), want_index) and np.array_equal(grad.numpy(), want_grad)

print("target:", y.numpy().ravel(), "index", index.numpy().ravel(), "VJP", grad.numpy().ravel())
print("spec:  ", want_y.ravel(), "index", want_index.ravel(), "VJP", want_grad.ravel())
sys.exit(0 if same else 1)
