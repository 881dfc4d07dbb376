"""torch-compile / zero-channels-rejected: max_pool1d rejects an input with C = 0 channels; the
spec returns an empty [N, 0, *O].

So do avg_pool and lp_pool, in every rank, batched or not (Dynamo raises the shape check it
meets while tracing). The adaptive ops: adaptive-max-zero-channels-rejected,
adaptive-avg-zero-channels-vjp, adaptive-avg-pool3d-zero-channels-rejected.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec


def why(exc):
    """The error that Dynamo met while tracing ("... got RuntimeError('...')"), else its own."""
    text = str(exc)
    i = text.find(": got ")
    return f"{type(exc).__name__}: {(text[i + 6 :] if i >= 0 else text).strip().splitlines()[0]}"


x = np.zeros((1, 0, 4))
try:
    got = torch.compile(lambda t: F.max_pool1d(t, 2), dynamic=False)(torch.tensor(x))
    got = f"shape {tuple(got.shape)}"
except Exception as exc:
    got = why(exc)
want = spec.max_pool(x, kernel_size=2)

print("target:", got)
print("spec:   shape", want.shape)
sys.exit(0 if got == f"shape {want.shape}" else 1)
