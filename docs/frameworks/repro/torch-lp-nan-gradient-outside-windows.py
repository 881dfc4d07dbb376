"""torch / lp-nan-gradient-outside-windows: a cell no window reads gets a NaN gradient.

torch's lp_pool computes x ** p on the whole input before avg_pool, so a cell that no window
reads (stride > kernel) where x ** p has no finite derivative (x = 0 with p < 1, x < 0 with a
fractional p) gets 0 * inf = NaN in the VJP instead of 0. The JVP is right (avg_pool never
reads that cell's tangent).

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[1.0, 0.0]]])  # kernel 1, stride 2: the window reads x[0] only
cfg = dict(kernel_size=1, stride=2, sign="signed", partial_window="rescaled")


def f(v):
    return F.lp_pool1d(v, 0.5, 1, stride=2)


y, pullback = torch.func.vjp(f, torch.tensor(x))
(got_bar,) = pullback(torch.ones_like(y))
_, got_dot = torch.func.jvp(f, (torch.tensor(x),), (torch.ones(1, 1, 2, dtype=torch.float64),))
(want_bar, _) = spec.vjp("lp_pool", (x, np.array(0.5)), np.ones((1, 1, 1)), **cfg)
_, want_dot = spec.jvp("lp_pool", (x, np.array(0.5)), (np.ones_like(x), np.array(0.0)), **cfg)
same = np.array_equal(got_bar.numpy(), want_bar)

print("target VJP:", got_bar.numpy().ravel(), " JVP:", got_dot.numpy().ravel())
print("spec   VJP:", want_bar.ravel(), " JVP:", want_dot.ravel())
sys.exit(0 if same else 1)
