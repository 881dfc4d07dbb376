"""torch-compile / adaptive-avg-empty-axis-kept: compiled adaptive average pooling of an empty
axis to its own extent, 0, returns an empty tensor (spec C7: every spatial extent is at least
1, whatever the output size; eager torch rejects the empty input).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.zeros((1, 1, 0))
try:
    got = torch.compile(lambda t: F.adaptive_avg_pool1d(t, 0), dynamic=False)(torch.tensor(x))
    got, accepted = f"shape {tuple(got.shape)}", True
except Exception as exc:
    got, accepted = f"rejected: {type(exc).__name__}", False
try:
    eager = f"shape {tuple(F.adaptive_avg_pool1d(torch.tensor(x), 0).shape)}"
except RuntimeError as exc:
    eager = f"rejected: {str(exc)[:60]}"
try:
    want = spec.adaptive_avg_pool(x, output_size=(None,))
except spec.ConstraintError as exc:
    want = f"rejected: {exc}"
print(f"compiled: {got}; eager: {eager}; spec: {want}")
sys.exit(1 if accepted else 0)
