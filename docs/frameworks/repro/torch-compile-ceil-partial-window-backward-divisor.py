"""torch-compile / ceil-partial-window-backward-divisor: the compiled backward of a ceil_mode
edge window divides by the full kernel size (the forward, and eager torch, by the clipped one).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = torch.tensor([[[3.0, 4.0, 5.0]]], dtype=torch.float64, requires_grad=True)
y = torch.compile(lambda t: F.avg_pool1d(t, 2, ceil_mode=True), dynamic=False)(x)
(got,) = torch.autograd.grad(y, x, torch.ones_like(y))
got = got.numpy()
want = spec.vjp(
    "avg_pool", (x.detach().numpy(),), np.ones((1, 1, 2)), kernel_size=2, ceil_mode=True
)
same = np.array_equal(got, want[0])

print(
    "target:",
    got,
    "(eager torch:",
    torch.autograd.grad(F.avg_pool1d(x, 2, ceil_mode=True).sum(), x)[0].numpy(),
    ")",
)
print("spec:  ", want[0])
sys.exit(0 if same else 1)
