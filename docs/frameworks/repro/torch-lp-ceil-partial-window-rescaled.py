"""torch / lp-ceil-partial-window-rescaled: the ceil_mode edge window of lp_pool is rescaled.

A deviation (registered in conformance/targets/deviations/torch.toml): torch's lp_pool is
(avg_pool(x**p) * prod(kernel))**(1/p), which the spec can express as
partial_window="rescaled", but torch's documentation gives the plain per-window sum, so it is
a bug, not a documented convention,
values and gradients alike. Exits 1 while torch differs from the spec's default and equals the
spec under that option (0: torch follows the default; 2: neither)."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = torch.tensor([[[3.0, 4.0, 5.0]]], dtype=torch.float64, requires_grad=True)
y = F.lp_pool1d(x, 2.0, 2, stride=2, ceil_mode=True)
(grad,) = torch.autograd.grad(y, x, torch.ones_like(y))
got, got_grad = y.detach().numpy(), grad.numpy()

xn, p, ones = x.detach().numpy(), np.array(2.0), np.ones((1, 1, 2))
cfg = dict(kernel_size=2, stride=2, ceil_mode=True, sign="signed")
default = spec.lp_pool(xn, p, **cfg), spec.vjp("lp_pool", (xn, p), ones, **cfg)[0]
cfg["partial_window"] = "rescaled"
named = spec.lp_pool(xn, p, **cfg), spec.vjp("lp_pool", (xn, p), ones, **cfg)[0]


def same(a, b):
    return all(np.allclose(u, v, rtol=1e-12, atol=0) for u, v in zip(a, b))


print("target:                              ", got, "grad", got_grad)
print("spec (default, 'sum'):               ", default[0], "grad", default[1])
print("spec (partial_window='rescaled'):    ", named[0], "grad", named[1])
sys.exit(0 if same((got, got_grad), default) else 1 if same((got, got_grad), named) else 2)
