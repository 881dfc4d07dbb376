"""tinygrad / vjp-input-read-by-no-window-raises: .backward() raises where every window lies in
the padding.

Registered in conformance/targets/deviations/tinygrad.toml. With padding past half the
kernel and a stride that skips the input, every window can lie wholly in the padding, so
the output does not depend on x; its forward is right ([2, 1], kernel 1, stride 3,
padding 1: average [0, 0], max [-inf, -inf]), but .backward() raises "ValueError: bad
reshape: () -> (2, 3)" (float32 and float64; float16 and bfloat16 gave zeros here), where
the spec's VJP is [0, 0]. Exits 1 while it raises."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.array([[[2.0, 1.0]]])
cfg = dict(kernel_size=1, stride=3, padding=1)
(want,) = spec.vjp("avg_pool", (x,), np.array([[[2.0, 1.0]]]), **cfg)
failed = False
for name in ("avg_pool2d", "max_pool2d"):
    t = Tensor(x.astype(np.float32))
    y = getattr(t, name)((1,), stride=(3,), padding=1)
    try:
        y.backward(Tensor(np.array([[[2.0, 1.0]]], dtype=np.float32)))
        got = t.grad.numpy().ravel()
    except ValueError as exc:
        got, failed = f"raises: {exc}", True
    print(f"target {name} VJP:", got)
print("spec:   VJP", want.ravel())
sys.exit(1 if failed else 0)
