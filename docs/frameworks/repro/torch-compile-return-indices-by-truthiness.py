"""torch-compile / return-indices-by-truthiness: return_indices="no" (or 1) returns (values,
indices) where the spec (C22) rejects anything but a bool.

F.max_pool*d and F.adaptive_max_pool*d test return_indices by truthiness in Python, and Dynamo
traces that Python as it is; ceil_mode="no" is rejected (a TypeError).

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[1.0, 2.0]]])
accepted = False
for name, call in (
    ("max_pool1d(return_indices='no')", lambda t: F.max_pool1d(t, 2, return_indices="no")),
    (
        "adaptive_max_pool1d(return_indices=1)",
        lambda t: F.adaptive_max_pool1d(t, 1, return_indices=1),
    ),
):
    try:
        got = torch.compile(call, dynamic=False)(torch.tensor(x))
        accepted = True
    except Exception as exc:
        got = f"rejected: {type(exc).__name__}"
    print(f"target {name}: {got}")
try:
    want = spec.max_pool(x, kernel_size=2, return_indices="no")
except spec.ConstraintError as exc:
    want = f"rejected: {exc}"
print("spec:  ", want)
sys.exit(1 if accepted else 0)
