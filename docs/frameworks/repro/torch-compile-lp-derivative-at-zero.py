"""torch-compile / lp-derivative-at-zero: the compiled lp_pool VJP at zero cells and zero
windows is inf / NaN for p < 1, and 0 for a window summing to 0 at p = 1.

The spec's derivative is 0 at a zero cell and in a window whose y = 0 (its rule 1), except at
p = 1, where y is sum pooling and the derivative is 1 everywhere (rule 2). Kernel 2, cotangent 1:
[0, 1] with p = 0.5 gives [inf, 1] (spec [0, 1]); [0, 0] with p = 0.5 gives [nan, nan] (spec
[0, 0]); [1, -1] with p = 1 gives [0, 0] (spec [1, 1]).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec


def pool(x, p):
    return torch.compile(lambda t: F.lp_pool1d(t, p, 2), dynamic=False)(x)


cfg = dict(kernel_size=2, sign="signed", partial_window="rescaled")
same = True
for values, p in (([0.0, 1.0], 0.5), ([0.0, 0.0], 0.5), ([1.0, -1.0], 1.0)):
    x = torch.tensor([[values]], dtype=torch.float64, requires_grad=True)
    y = pool(x, p)
    (got,) = torch.autograd.grad(y, x, torch.ones_like(y))
    xn = x.detach().numpy()
    want = spec.vjp("lp_pool", (xn, np.array(p)), np.ones((1, 1, 1)), **cfg)[0]
    same = same and np.array_equal(got.numpy(), want, equal_nan=True)
    print(f"x = {values}, p = {p}: target VJP {got.numpy().ravel()}, spec {want.ravel()}")
sys.exit(0 if same else 1)
