"""tinygrad / accepts-empty-input: an empty spatial extent is pooled when padded.

Registered in conformance/targets/deviations/tinygrad.toml. x of shape [1, 1, 0], kernel 1,
padding 1: max_pool2d gives [-inf, -inf], avg_pool2d [0, 0]; the spec (C7) rejects an
empty spatial extent. Exits 1 while it is accepted."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

x = np.zeros((1, 1, 0))
accepted = False
for name in ("max_pool2d", "avg_pool2d"):
    try:
        got = getattr(Tensor(x.astype(np.float32)), name)((1,), padding=1).numpy().ravel()
        accepted = True
    except AssertionError as exc:
        got = f"rejected: {exc}"
    print(f"target {name}:", got)
try:
    want = spec.max_pool(x, kernel_size=1, padding=1)
except spec.ConstraintError as exc:
    want = f"rejected: {exc}"
print("spec:", want)
sys.exit(1 if accepted else 0)
