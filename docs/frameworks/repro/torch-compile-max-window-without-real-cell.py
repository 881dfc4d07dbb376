"""torch-compile / max-window-without-real-cell: in 3-d the compiled VJP of a max window of
padded cells only writes its cotangent out of bounds (another channel's cells, or before the
gradient buffer: heap corruption).

The forward gives the window the flat index of its first, padded, position (negative:
max-window-without-real-cell-index); the compiled 3-d backward calls eager's
max_pool3d_with_indices_backward, which adds the cotangent at that index without a bounds
check (it skips -1 only). So the VJP runs in a subprocess here, and the script reports how it
ended: 2 channels, a [1, 1, 3] plane, kernel (2, 1, 1), dilation (2, 1, 1), padding (1, 0, 0):
every window reads depths -1 and 1 only (indices -3, -2, -1), channel 1's cotangents land on
channel 0's cells, channel 0's before the buffer, and the subprocess may die of it (it
ended with SIGSEGV in some runs here, with exit 0 in others).
The spec's gradient is 0. The suite skips this (skip = true).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import json
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

CFG = dict(kernel_size=(2, 1, 1), dilation=(2, 1, 1), padding=(1, 0, 0))
CHILD = f"""
import json, torch, torch.nn.functional as F
x = torch.arange(1.0, 7.0, dtype=torch.float64).reshape(1, 2, 1, 1, 3).requires_grad_(True)
y = torch.compile(lambda t: F.max_pool3d(t, **{CFG!r}), dynamic=False)(x)
ct = torch.arange(1.0, 7.0, dtype=torch.float64).reshape(y.shape) * 10
(g,) = torch.autograd.grad(y, x, ct)
print(json.dumps(g.ravel().tolist()), flush=True)
"""
x = np.arange(1.0, 7.0).reshape(1, 2, 1, 1, 3)
ct = np.arange(1.0, 7.0).reshape(1, 2, 1, 1, 3) * 10
_, index = torch.compile(lambda t: F.max_pool3d(t, **CFG, return_indices=True), dynamic=False)(
    torch.tensor(x)
)
(want,) = spec.vjp("max_pool", (x,), ct, **CFG)

proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600)
lines = proc.stdout.strip().splitlines()
grad = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
same = grad is not None and np.array_equal(np.array(grad), want.ravel())

print(
    "target index:",
    index.numpy().ravel(),
    "(spec:",
    spec.max_pool(x, **CFG, return_indices=True)[1].ravel(),
    ")",
)
print("target VJP in a subprocess: exit", proc.returncode, "gradient", lines[-1] if lines else None)
print("spec VJP:   ", want.ravel())
sys.exit(0 if same else 1)
