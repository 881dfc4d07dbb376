"""torch-compile / lp-nan-gradient-outside-windows: a cell no window reads gets a NaN gradient
where x**p has no finite derivative.

torch forms x**p on the whole input before pooling: x = [1, 0], p = 0.5, kernel 1, stride 2 reads
cell 0 only, but the slope of 0**0.5 is inf and the VJP at cell 1 is 0 * inf = NaN; the spec's
is 0.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = torch.tensor([[[1.0, 0.0]]], dtype=torch.float64, requires_grad=True)
y = torch.compile(lambda t: F.lp_pool1d(t, 0.5, 1, stride=2), dynamic=False)(x)
(got,) = torch.autograd.grad(y, x, torch.ones_like(y))
cfg = dict(kernel_size=1, stride=2, sign="signed", partial_window="rescaled")
(want, _) = spec.vjp("lp_pool", (x.detach().numpy(), np.array(0.5)), np.ones((1, 1, 1)), **cfg)
same = np.array_equal(got.numpy(), want, equal_nan=True)

print("target:", got.numpy().ravel())
print("spec:  ", want.ravel())
sys.exit(0 if same else 1)
