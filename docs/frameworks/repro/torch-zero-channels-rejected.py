"""torch / zero-channels-rejected: max, avg and Lp pooling reject an input with C = 0.

F.max_pool*d, F.avg_pool*d and F.lp_pool*d reject an input with C = 0 channels, batched or
not ("Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size", "Expected 3D or
4D ...", 3-d: "Expected input's non-batch dimensions to have positive length"); the spec
accepts it and returns an empty output of shape [N, 0, *O].

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.zeros((1, 0, 2))
calls = (
    ("max_pool", lambda t: F.max_pool1d(t, 2), spec.max_pool(x, kernel_size=2)),
    ("avg_pool", lambda t: F.avg_pool1d(t, 2), spec.avg_pool(x, kernel_size=2)),
    (
        "lp_pool",
        lambda t: F.lp_pool1d(t, 2.0, 2),
        spec.lp_pool(x, 2.0, kernel_size=2, sign="signed"),
    ),
)
same = True
for name, call, want in calls:
    try:
        got = f"shape {tuple(call(torch.tensor(x)).shape)}"
    except RuntimeError as exc:
        got = f"rejected: {exc}"
        same = False
    print(f"{name} target:", got)
    print(f"{name} spec:   shape {want.shape}")
sys.exit(0 if same else 1)
