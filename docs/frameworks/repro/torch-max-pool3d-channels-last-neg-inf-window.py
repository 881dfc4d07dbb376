"""torch / max-pool3d-channels-last-neg-inf-window: on a channels_last_3d input, a max_pool3d
window whose real cells are all -inf gets the index of another cell.

The value (-inf) agrees. The channels-last 3-D CPU kernel starts each window's index at a
cell that is not the window's first and moves it only on a strictly larger value, so a
window of -inf keeps that cell (here the first cell of the plane, outside the window); the
contiguous kernel and the 2-D channels-last kernel give the window's first cell, as the
spec does. The JVP and VJP follow the index.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.full((1, 2, 2, 2, 2), -np.inf)
t = torch.tensor(x).to(memory_format=torch.channels_last_3d)
_, got = F.max_pool3d(t, (1, 2, 2), stride=1, return_indices=True)
_, want = spec.max_pool(x, kernel_size=(1, 2, 2), stride=1, return_indices=True)
_, plain = F.max_pool3d(torch.tensor(x), (1, 2, 2), stride=1, return_indices=True)

print("target (channels_last_3d):", got.numpy().ravel())
print("target (contiguous):      ", plain.numpy().ravel())
print("spec:                     ", np.asarray(want).ravel())
sys.exit(0 if np.array_equal(got.numpy(), want) else 1)
