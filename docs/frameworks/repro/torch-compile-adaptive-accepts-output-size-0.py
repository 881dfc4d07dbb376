"""torch-compile / adaptive-accepts-output-size-0: adaptive max and avg pooling to 0 cells
return an empty tensor (spec C9: output sizes are positive).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec


def pool_to_0(fn, x):
    return torch.compile(lambda t: fn(t, 0), dynamic=False)(torch.tensor(x))


x = np.array([[[1.0, 2.0]]])
accepted = False
for name, fn in (
    ("adaptive_max_pool", F.adaptive_max_pool1d),
    ("adaptive_avg_pool", F.adaptive_avg_pool1d),
):
    try:
        got = pool_to_0(fn, x)
        got, accepted = f"shape {tuple(got.shape)}", True
    except Exception as exc:
        got = f"rejected: {type(exc).__name__}"
    try:
        want = getattr(spec, name)(x, output_size=(0,))
    except spec.ConstraintError as exc:
        want = f"rejected: {exc}"
    print(f"{name}: target: {got}; spec: {want}")
sys.exit(1 if accepted else 0)
