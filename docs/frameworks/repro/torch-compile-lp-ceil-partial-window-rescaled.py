"""torch-compile / lp-ceil-partial-window-rescaled: lp_pool rescales the ceil_mode edge window.

A deviation (registered in conformance/targets/deviations/torch-compile.toml): torch's lp_pool is
(avg_pool(x**p) * prod(kernel))**(1/p), which the spec can express as
partial_window="rescaled", but torch's documentation gives the plain per-window sum, so it is
a bug, not a documented convention. Compiled, the values follow it; the compiled
VJP of the edge window follows neither option (it divides by the full kernel size: the
deviation ceil-partial-window-backward-divisor), so it is printed, not compared. Exits 1 while
the compiled values differ from the spec's default and equal the spec under that option (0:
torch follows the default; 2: neither)."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = torch.tensor([[[3.0, 4.0, 5.0]]], dtype=torch.float64, requires_grad=True)
y = torch.compile(lambda t: F.lp_pool1d(t, 2.0, 2, stride=2, ceil_mode=True), dynamic=False)(x)
(grad,) = torch.autograd.grad(y, x, torch.ones_like(y))
got = y.detach().numpy()

xn, p, ones = x.detach().numpy(), np.array(2.0), np.ones((1, 1, 2))
cfg = dict(kernel_size=2, stride=2, ceil_mode=True, sign="signed")
default = spec.lp_pool(xn, p, **cfg), spec.vjp("lp_pool", (xn, p), ones, **cfg)[0]
cfg["partial_window"] = "rescaled"
named = spec.lp_pool(xn, p, **cfg), spec.vjp("lp_pool", (xn, p), ones, **cfg)[0]


def same(a, b):
    return np.allclose(a, b, rtol=1e-12, atol=0)


print("target:                           ", got, "grad", grad.numpy())
print("spec (default, 'sum'):            ", default[0], "grad", default[1])
print("spec (partial_window='rescaled'): ", named[0], "grad", named[1])
sys.exit(0 if same(got, default[0]) else 1 if same(got, named[0]) else 2)
