"""torch-compile / adaptive-avg-zero-channels-vjp: adaptive_avg_pool1d of a batched input with
C = 0 channels computes (an empty output), but not with a gradient.

The compiled function of an input that requires a gradient compiles its backward as well, and
that fails: BackendCompilerFailed, "adaptive_avg_pool2d_backward(): Expected grad_output to
have non-zero size for non-batch dimensions". The spec's gradient is an empty [N, 0, *S]. An
output of 1 cell per axis and an unbatched [0, *S] work.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.zeros((1, 0, 4))
f = torch.compile(lambda t: F.adaptive_avg_pool1d(t, 2), dynamic=False)
print("target forward: shape", tuple(f(torch.tensor(x)).shape))
try:
    xt = torch.tensor(x, requires_grad=True)
    y = f(xt)
    (got,) = torch.autograd.grad(y, xt, torch.ones_like(y))
    got = f"shape {tuple(got.shape)}"
except Exception as exc:
    lines = [line for line in str(exc).splitlines() if "Error" in line]
    got = f"{type(exc).__name__}: {lines[-1].strip() if lines else exc}"
(want,) = spec.vjp("adaptive_avg_pool", (x,), np.ones((1, 0, 2)), output_size=(2,))

print("target VJP:", got)
print("spec VJP:   shape", want.shape)
sys.exit(0 if got == f"shape {want.shape}" else 1)
