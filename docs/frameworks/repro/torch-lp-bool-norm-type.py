"""torch / lp-bool-norm-type: lp_pool takes norm_type=True as p = 1.

A bool is an int in Python, and F.lp_pool*d computes x ** True / ... ** (1 / True): sum
pooling. The spec (C24) takes real numbers only. (norm_type=False fails on 1 / False, a
ZeroDivisionError; strings, complex numbers and lists are rejected.)

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[1.0, -3.0]]])
try:
    got = F.lp_pool1d(torch.tensor(x), True, 2).numpy()
except (TypeError, ZeroDivisionError) as exc:
    got = f"rejected: {exc}"
try:
    want = spec.lp_pool(x, True, kernel_size=2, sign="signed", partial_window="rescaled")
except spec.ConstraintError as exc:
    want = f"rejected: {exc}"
accepted = isinstance(want, str) and not isinstance(got, str)

print("target (norm_type=True):", got)
print("target (norm_type=1.0): ", F.lp_pool1d(torch.tensor(x), 1.0, 2).numpy())
print("spec   (norm_type=True):", want)
sys.exit(1 if accepted else 0)
