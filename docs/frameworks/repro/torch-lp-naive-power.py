"""torch / lp-naive-power: lp_pool's x ** p overflows in the input dtype.

torch evaluates x ** p in the input's dtype before pooling, so |x| ** p beyond the dtype's
range overflows to inf (or underflows to 0) where the spec's scaled evaluation,
M * (sum (x / M) ** p) ** (1/p), is finite. float16: 300 ** 2 = inf, so lp_pool of [300] is
inf instead of 300; (-41.6) ** 3 = -inf, and (-inf) ** (1/3) = +inf where the spec gives NaN
(a negative sum under a fractional root, sign="signed").

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

same = True
for cell, p in ((300.0, 2.0), (-41.6, 3.0)):
    x = np.array([[[cell]]], dtype=np.float16)
    got = F.lp_pool1d(torch.tensor(x), p, 1).numpy()
    want = spec.lp_pool(x, p, kernel_size=1, sign="signed", partial_window="rescaled")
    same = same and np.array_equal(got, want, equal_nan=True)
    print(f"float16 x = [{cell}], p = {p}: target", got.ravel(), " spec", want.ravel())
sys.exit(0 if same else 1)
