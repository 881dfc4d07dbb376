"""torch / adaptive-avg-zero-channels-vjp: the VJP of adaptive_avg_pool1d/2d fails with C = 0.

adaptive_avg_pool1d/2d compute a batched input with C = 0 channels (an empty output), but the
backward kernel adaptive_avg_pool2d_backward rejects the empty gradient ("Expected grad_output
to have non-zero size for non-batch dimensions"). The spec's gradient is an empty [N, 0, *S].
An output of 1 cell per axis (torch takes the mean there) and an unbatched input work.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.zeros((1, 0, 2))
y, pullback = torch.func.vjp(lambda v: F.adaptive_avg_pool1d(v, 2), torch.tensor(x))
try:
    got = f"shape {tuple(pullback(torch.ones_like(y))[0].shape)}"
except RuntimeError as exc:
    got = f"fails: {exc}"
(want,) = spec.vjp("adaptive_avg_pool", (x,), np.zeros((1, 0, 2)), output_size=2)

print("target forward: shape", tuple(y.shape))
print("target VJP:", got)
print("spec   VJP: shape", want.shape)
sys.exit(1 if got.startswith("fails") else 0)
