"""torch-compile / no-half-avg-pool3d-on-cpu: float16 avg_pool3d with a kernel of 27 cells and
stride 1 fails (NotImplementedError from eager's kernel).

Inductor lowers float16 / bfloat16 avg_pool3d itself (kernel 2, stride 1 works here, value and
gradient), except a kernel of more than 25 cells whose stride differs from it on some axis:
there it calls eager's CPU kernel, which has no half-precision version.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.arange(27.0).reshape(1, 1, 3, 3, 3) / 8  # exact in float16
small = torch.compile(lambda t: F.avg_pool3d(t, 2, stride=1), dynamic=False)
big = torch.compile(lambda t: F.avg_pool3d(t, 3, stride=1), dynamic=False)
print("kernel 2, stride 1:", small(torch.tensor(x, dtype=torch.float16)).ravel().tolist()[:4])
try:
    got = big(torch.tensor(x, dtype=torch.float16)).to(torch.float64).numpy()
except Exception as exc:
    got = f"{type(exc).__name__}: {exc}"
want = spec.avg_pool(x.astype(np.float16), kernel_size=3, stride=1)
same = isinstance(got, np.ndarray) and np.allclose(got, want, rtol=1e-3)

print("target (kernel 3, stride 1):", got)
print("spec:                       ", want)
sys.exit(0 if same else 1)
