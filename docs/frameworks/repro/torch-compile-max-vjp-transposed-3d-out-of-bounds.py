"""torch-compile / max-vjp-transposed-3d-out-of-bounds: on a transposed 3-d input whose
windows read padding, the compiled max_pool3d computes argmax indices outside the plane,
and its VJP adds the cotangent there, outside the gradient buffer.

A [1, 1, 5, 5, 5] input holding a permutation of 0..124, stored with its spatial axes in
reversed memory order, kernel 3, stride 2, padding 1: the compiled indices run from below 0
to past 124 (eager torch's and the spec's lie in 0..124). The backward (eager's
max_pool3d_with_indices_backward, no bounds check) writes the cotangent at them, so the VJP
runs in a subprocess here, and the script reports how it ended and whether its gradient is
the spec's (it died of SIGSEGV here). The suite skips this (skip = true): its workers
died of it (SIGABRT).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import json
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

CFG = dict(kernel_size=3, stride=2, padding=1)
x = np.random.default_rng(0).permutation(125).astype(np.float64).reshape(1, 1, 5, 5, 5)
SETUP = """
import json, numpy as np, torch, torch.nn.functional as F
x = np.random.default_rng(0).permutation(125).astype(np.float64).reshape(1, 1, 5, 5, 5)
t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 1, 4, 3, 2))).permute(0, 1, 4, 3, 2)
assert np.array_equal(t.numpy(), x)
"""
CHILD = (
    SETUP
    + f"""
t.requires_grad_(True)
y = torch.compile(lambda a: F.max_pool3d(a, **{CFG!r}), dynamic=False)(t)
(g,) = torch.autograd.grad(y, t, torch.ones_like(y))
print(json.dumps(g.detach().numpy().ravel().tolist()), flush=True)
"""
)
namespace: dict = {}
exec(SETUP, namespace)
pool = torch.compile(lambda a: F.max_pool3d(a, **CFG, return_indices=True), dynamic=False)
index = pool(namespace["t"])[1].numpy().ravel()
_, want_index = spec.max_pool(x, **CFG, return_indices=True)
(want,) = spec.vjp("max_pool", (x,), np.ones(want_index.shape), **CFG)

proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600)
lines = proc.stdout.strip().splitlines()
grad = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
same = grad is not None and np.array_equal(np.array(grad), want.ravel())
outside = bool((index < 0).any() or (index >= x[0, 0].size).any())

print("compiled indices from", index.min(), "to", index.max(), "of 0 ..", x[0, 0].size - 1)
print("spec indices from", want_index.min(), "to", want_index.max())
print("compiled VJP in a subprocess: exit", proc.returncode, "; equals the spec's:", same)
sys.exit(0 if same and not outside else 1)
