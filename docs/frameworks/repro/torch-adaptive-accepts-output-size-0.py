"""torch / adaptive-accepts-output-size-0: adaptive pooling to 0 cells returns an empty tensor.

F.adaptive_avg_pool*d and F.adaptive_max_pool*d accept an output size of 0 (a negative one is
rejected); the spec (C9) requires positive sizes.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[1.0, 2.0]]])
accepted = False
for name, fn, ref in (
    ("adaptive_avg_pool", F.adaptive_avg_pool1d, spec.adaptive_avg_pool),
    ("adaptive_max_pool", F.adaptive_max_pool1d, spec.adaptive_max_pool),
):
    try:
        got = fn(torch.tensor(x), 0)
        got = f"shape {tuple(got.shape)}: {got.numpy()}"
        accepted = True
    except RuntimeError as exc:
        got = f"rejected: {exc}"
    try:
        want = ref(x, output_size=0)
    except spec.ConstraintError as exc:
        want = f"rejected: {exc}"
    print(f"{name}: target:", got)
    print(f"{name}: spec:  ", want)
sys.exit(1 if accepted else 0)
