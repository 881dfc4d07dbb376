"""torch-compile / max-signed-zero-last-wins: the compiled max returns the last of tied zeros.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = torch.tensor([[[0.0, -0.0]]], dtype=torch.float64)
got = torch.compile(lambda t: F.max_pool1d(t, 2), dynamic=False)(x).numpy()
want = spec.max_pool(x.numpy(), kernel_size=2)
same = np.array_equal(np.signbit(got), np.signbit(want))

print("target:", got, "(eager torch:", F.max_pool1d(x, 2).numpy(), ")")
print("spec:  ", want)
sys.exit(0 if same else 1)
