"""torch-compile / max-neg-inf-window-3d-vjp: in 3-d the compiled VJP of a max window whose
real cells are all -inf and whose first position is padding writes its cotangent out of bounds.

The forward gives such a window the flat index of its first, padded, position
(max-index-of-neg-inf-window); the compiled 3-d backward calls eager's
max_pool3d_with_indices_backward, which adds the cotangent at that index without a bounds
check (it skips -1 only). So the VJP runs in a subprocess here, and the script reports how it
ended: 3 channels, a [3, 1, 2] plane whose depth 1 is -inf, kernel (3, 1, 1), dilation (2, 1, 1),
padding (1, 0, 0): the windows read depths -1, 1, 3, so only the -inf cells, and get indices
-2 and -1. The cotangent of window 0 lands 2 cells before the plane (on the previous
channel's cell 4 of 0..5; before the buffer for channel 0), that of window 1 nowhere; the spec
sends both to the -inf cells. The
subprocess may die of it (it ended with SIGSEGV in some runs here). The suite skips this
(skip = true).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import json
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

CFG = dict(kernel_size=(3, 1, 1), dilation=(2, 1, 1), padding=(1, 0, 0))
CHILD = f"""
import json, torch, torch.nn.functional as F
x = torch.ones(1, 3, 3, 1, 2, dtype=torch.float64)
x[:, :, 1] = -float("inf")
x.requires_grad_(True)
y = torch.compile(lambda t: F.max_pool3d(t, **{CFG!r}), dynamic=False)(x)
ct = torch.arange(1.0, y.numel() + 1, dtype=torch.float64).reshape(y.shape) * 10
(g,) = torch.autograd.grad(y, x, ct)
print(json.dumps(g.ravel().tolist()), flush=True)
"""
x = np.ones((1, 3, 3, 1, 2))
x[:, :, 1] = -np.inf
want_y, want_index = spec.max_pool(x, **CFG, return_indices=True)
ct = np.arange(1.0, want_y.size + 1).reshape(want_y.shape) * 10
_, index = torch.compile(lambda t: F.max_pool3d(t, **CFG, return_indices=True), dynamic=False)(
    torch.tensor(x)
)
(want,) = spec.vjp("max_pool", (x,), ct, **CFG)

proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600)
lines = proc.stdout.strip().splitlines()
grad = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
same = grad is not None and np.array_equal(np.array(grad), want.ravel())

print("target index:", index.numpy().ravel(), "(spec:", want_index.ravel(), ")")
print("target VJP in a subprocess: exit", proc.returncode, "gradient", lines[-1] if lines else None)
print("spec VJP:   ", want.ravel())
sys.exit(0 if same else 1)
