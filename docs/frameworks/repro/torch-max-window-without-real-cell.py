"""torch / max-window-without-real-cell: a window of padding only gets an index past it.

With dilation and padding a max_pool window can hold padded cells only. The spec gives -inf,
index -1 and a zero JVP; torch gives -inf too, but the index of the first position past the
left padding, which lies outside the window: in a plane of 1 cell, index 1 (past the plane),
and the JVP gathers the tangent there and raises "index 1 is out of bounds". Where that
position is still inside the plane (2-d, a window on row 0 of 2, width 1) the JVP returns the
tangent of that cell (row 1) instead of 0.

Safe to run: only the forward and the JVP (a bounds-checked gather) are called, never the VJP,
which scatters into the same index and can write past the gradient buffer (the entry
max-window-without-real-cell-vjp, skipped by the suite).

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

same = True

# 1-d: x = [1], kernel 2, dilation 2, padding 1: the only window reads positions -1 and 1
x = np.array([[[1.0]]])
cfg = dict(kernel_size=2, dilation=2, padding=1)
got = F.max_pool1d(torch.tensor(x), **cfg, return_indices=True)
want = spec.max_pool(x, **cfg, return_indices=True)
same = same and np.array_equal(got[1].numpy(), want[1])
print("1-d target (value, index):", got[0].numpy().ravel(), got[1].numpy().ravel())
print("1-d spec   (value, index):", want[0].ravel(), want[1].ravel())
try:
    _, got_dot = torch.func.jvp(
        lambda v: F.max_pool1d(v, **cfg),
        (torch.tensor(x),),
        (torch.ones(1, 1, 1, dtype=torch.float64),),
    )
    got_dot = got_dot.numpy()
except (RuntimeError, IndexError) as exc:
    got_dot = f"raises: {exc}"
_, want_dot = spec.jvp("max_pool", (x,), (np.ones_like(x),), **cfg)
same = same and not isinstance(got_dot, str) and np.array_equal(got_dot, want_dot)
print("1-d target JVP:", got_dot)
print("1-d spec   JVP:", want_dot.ravel())

# 2-d: x of 2 rows x 1 column, the window on row 0 reads columns -1 and 1 only
x2 = np.array([[[[1.0], [2.0]]]])
cfg2 = dict(kernel_size=(1, 2), stride=(2, 2), padding=(0, 1), dilation=(1, 2))
got2 = F.max_pool2d(torch.tensor(x2), **cfg2, return_indices=True)
want2 = spec.max_pool(x2, **cfg2, return_indices=True)
t2 = np.array([[[[10.0], [20.0]]]])
_, got2_dot = torch.func.jvp(
    lambda v: F.max_pool2d(v, **cfg2), (torch.tensor(x2),), (torch.tensor(t2),)
)
_, want2_dot = spec.jvp("max_pool", (x2,), (t2,), **cfg2)
same = same and np.array_equal(got2[1].numpy(), want2[1])
same = same and np.array_equal(got2_dot.numpy(), want2_dot)
print(
    "2-d target (value, index, JVP):",
    got2[0].numpy().ravel(),
    got2[1].numpy().ravel(),
    got2_dot.numpy().ravel(),
)
print("2-d spec   (value, index, JVP):", want2[0].ravel(), want2[1].ravel(), want2_dot.ravel())
sys.exit(0 if same else 1)
