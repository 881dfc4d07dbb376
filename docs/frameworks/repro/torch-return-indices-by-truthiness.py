"""torch / return-indices-by-truthiness: return_indices is tested by truthiness.

F.max_pool*d and F.adaptive_max_pool*d test return_indices in Python: a truthy non-bool
(return_indices="no", 1) returns (values, indices), a false one (0, None, "") the values;
the spec (C22) rejects anything but a bool. ceil_mode and count_include_pad are checked by
the argument parser (a TypeError).

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[1.0, 2.0]]])
accepted = False
for name, fn, ref, size in (
    ("max_pool", F.max_pool1d, spec.max_pool, {"kernel_size": 2}),
    ("adaptive_max_pool", F.adaptive_max_pool1d, spec.adaptive_max_pool, {"output_size": 1}),
):
    for flag in ("no", 1):
        try:
            out = fn(torch.tensor(x), *size.values(), return_indices=flag)
            got = f"returns {type(out).__name__} {[o.tolist() for o in out]}"
            accepted = True
        except TypeError as exc:
            got = f"rejected: {exc}"
        try:
            want = ref(x, **size, return_indices=flag)
        except spec.ConstraintError as exc:
            want = f"rejected: {exc}"
        print(f"{name}(return_indices={flag!r}) target:", got)
        print(f"{name}(return_indices={flag!r}) spec:  ", want)
try:
    F.max_pool1d(torch.tensor(x), 2, ceil_mode="no")
except TypeError as exc:
    print("max_pool(ceil_mode='no') target: rejected:", exc)
sys.exit(1 if accepted else 0)
