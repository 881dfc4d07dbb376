"""torch / no-half-avg-pool3d-on-cpu: avg_pool3d and lp_pool3d lack float16/bfloat16 on CPU.

avg_pool3d (and lp_pool3d, which calls it) raises NotImplementedError ("avg_pool3d_out_frame"
not implemented for 'Half' / 'BFloat16') on CPU, where avg_pool1d/2d and max_pool3d compute.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.full((1, 1, 1, 1, 1), 2.0)
calls = {
    "avg_pool3d": lambda t: F.avg_pool3d(t, 1),
    "lp_pool3d": lambda t: F.lp_pool3d(t, 2.0, 1),
}
want = {
    "avg_pool3d": spec.avg_pool(x, kernel_size=(1, 1, 1)),
    "lp_pool3d": spec.lp_pool(x, 2.0, kernel_size=(1, 1, 1), sign="signed"),
}
same = True
for dtype in (torch.float16, torch.bfloat16):
    for name, call in calls.items():
        try:
            got = call(torch.tensor(x, dtype=dtype)).double().numpy()
        except NotImplementedError as exc:
            got = f"rejected: {exc}"
        ok = not isinstance(got, str) and np.array_equal(got, want[name])
        same = same and ok
        print(f"target {name} {dtype}:", got)
        print(f"spec   {name}:", want[name].ravel())
sys.exit(0 if same else 1)
