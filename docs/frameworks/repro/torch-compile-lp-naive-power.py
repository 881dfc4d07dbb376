"""torch-compile / lp-naive-power: a float32 lp_pool overflows (underflows) in x**p where the
spec's value is finite (non-zero).

float32, p = 2, kernel 2: [3e19, 4e19] gives inf (spec 5e19: (3e19)**2 is past float32's
range) and [3e-30, 4e-30] gives 0 (spec 5e-30: (3e-30)**2 is below it). Compiled, float16 forms
its powers in float32 (Inductor computes half precision in float32), so the float16 example of
eager torch, (-41.6)**3, agrees with the spec here: printed, not compared.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

f = torch.compile(lambda t: F.lp_pool1d(t, 2.0, 2), dynamic=False)
x = np.array([[[3e19, 4e19, 3e-30, 4e-30]]], dtype=np.float32)
got = f(torch.tensor(x)).numpy()
want = spec.lp_pool(x, np.array(2.0, np.float32), kernel_size=2, sign="signed")
same = np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-6, atol=0)

cube = torch.compile(lambda t: F.lp_pool1d(t, 3.0, 2), dynamic=False)
h = np.array([[[-41.6, 1.0]]], dtype=np.float16)
print(
    "float16 (-41.6)**3: target",
    cube(torch.tensor(h)).numpy().ravel(),
    "spec",
    spec.lp_pool(h, np.array(3.0, np.float16), kernel_size=2, sign="signed").ravel(),
)
print("target:", got.ravel())
print("spec:  ", want.ravel())
sys.exit(0 if same else 1)
