"""torch / lp-accepts-invalid-norm-type: lp_pool computes with norm_type < 0, NaN or +-inf.

The spec (C10) rejects p <= 0 and NaN, and p = inf under sign="signed" (torch's sign
convention). F.lp_pool*d does not validate norm_type: a negative p and NaN go through
x**p ... **(1/p), p = inf is max_pool of |x| (as torch's docs say) and p = -inf is
-max_pool(-|x|), the smallest |x|. p = 0 alone fails, by accident: 1.0 / norm_type
raises ZeroDivisionError.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[1.0, 2.0]]])
accepted = False
for p in (-2.0, math.nan, math.inf, -math.inf, 0.0):
    try:
        got = F.lp_pool1d(torch.tensor(x), p, 2).numpy()
    except ZeroDivisionError as exc:
        got = f"rejected: ZeroDivisionError: {exc}"
    try:
        want = spec.lp_pool(x, p, kernel_size=2, sign="signed", partial_window="rescaled")
    except spec.ConstraintError as exc:
        want = f"rejected: {exc}"
    accepted = accepted or (isinstance(want, str) and not isinstance(got, str))
    print(f"p = {p}: target:", got)
    print(f"p = {p}: spec:  ", want)
sys.exit(1 if accepted else 0)
