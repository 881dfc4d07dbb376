"""torch / stride-past-int32: a stride of 2**31 or more fails.

A stride >= 2**31 is valid (one window per axis) but fails with "value cannot be converted to
type int without overflow" in avg_pool and lp_pool (built on it), in max_pool2d/3d, and in
max_pool1d with return_indices or a derivative; only max_pool1d's value-only kernel (no
indices, no autograd) computes it.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

S = 2**31
x = np.array([[[1.0, 2.0]]])
calls = {
    "max_pool1d": lambda t: F.max_pool1d(t, 1, stride=S),
    "max_pool1d, return_indices": lambda t: F.max_pool1d(t, 1, stride=S, return_indices=True)[0],
    "max_pool1d, VJP": lambda t: torch.func.vjp(lambda v: F.max_pool1d(v, 1, stride=S), t)[0],
    "max_pool2d": lambda t: F.max_pool2d(t[None], (1, 1), stride=(1, S))[0],
    "avg_pool1d": lambda t: F.avg_pool1d(t, 1, stride=S),
    "lp_pool1d": lambda t: F.lp_pool1d(t, 2.0, 1, stride=S),
}
want = spec.avg_pool(x, kernel_size=1, stride=S)  # one window: [1.0] (the same for max and Lp)
same = True
for name, call in calls.items():
    try:
        got = call(torch.tensor(x)).numpy()
        ok = np.array_equal(got, want)
    except RuntimeError as exc:
        got, ok = f"fails: {exc}", False
    same = same and ok
    print(f"target {name}:", got)
print("spec:  ", want, spec.max_pool(x, kernel_size=1, stride=S, return_indices=True))
sys.exit(0 if same else 1)
