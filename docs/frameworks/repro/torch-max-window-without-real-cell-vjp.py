"""torch / max-window-without-real-cell-vjp: the VJP of a padding-only window scatters outside it.

A max_pool window that holds padded cells only gets an index outside the window (see
max-window-without-real-cell), and the VJP adds the window's cotangent to that cell: the spec's
gradient there is 0. When the index lies past the (N, C) plane -- always for the plane's last
window on the last axis, e.g. a plane of 1 cell, index 1 -- the cotangent goes into the next
plane, and for the last plane past the end of the gradient buffer: heap corruption, and the
process aborts (SIGABRT: "free(): invalid next size (fast)", "double free or corruption
(out)"), or not, as the allocator's padding decides (3 planes of 1 cell abort every time here,
1 plane of 1 cell does not). So the suite skips the VJP and adjoint properties there.

Safe to run: by default this script uses a geometry where the wrong index stays inside the
plane (2-d, 2 rows x 1 column, the one window on row 0 reads columns -1 and 1 only, and torch
returns index 1, the cell on row 1), so the VJP writes in bounds. With --crash it also runs
the out-of-bounds case, in a subprocess, and prints how that process ended.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[[1.0], [2.0]]]])
cfg = dict(kernel_size=(1, 2), stride=(2, 2), padding=(0, 1), dilation=(1, 2))
ct = np.full((1, 1, 1, 1), 5.0)
_, pullback = torch.func.vjp(lambda v: F.max_pool2d(v, **cfg), torch.tensor(x))
(got,) = pullback(torch.tensor(ct))
(want,) = spec.vjp("max_pool", (x,), ct, **cfg)
same = np.array_equal(got.numpy(), want)

print("target index:", F.max_pool2d(torch.tensor(x), **cfg, return_indices=True)[1].numpy().ravel())
print("target VJP:  ", got.numpy().ravel())
print("spec   VJP:  ", want.ravel())

CRASH = """
import torch, torch.nn.functional as F
for _ in range(200):  # 3 planes of 1 cell: the last one's index 1 is past the buffer
    x = torch.ones(3, 1, 1, dtype=torch.float64, requires_grad=True)
    F.max_pool1d(x, 2, dilation=2, padding=1).sum().backward()
print("survived")
"""
if "--crash" in sys.argv[1:]:
    proc = subprocess.run(
        [sys.executable, "-c", CRASH], capture_output=True, text=True, timeout=120
    )
    print(
        "out-of-bounds VJP in a subprocess: exit",
        proc.returncode,
        (proc.stdout + proc.stderr).strip(),
    )
sys.exit(0 if same else 1)
