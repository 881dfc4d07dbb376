"""tinygrad / max-float16-reduce-fails: some float16 max reductions raise a verification error.

Registered in conformance/targets/deviations/tinygrad.toml. On the PYTHON device (where
float16 is emulated below Python 3.12) the kernel of some float16 max reductions fails
tinygrad's own UOp verification: "RuntimeError: UOp verification failed at 15 on
Ops.AFTER dtypes.float 3 ...". The smallest: the max of 16 float16 values (15 and 17 work);
in pooling, e.g. a (2, 2, 2) window on an unbatched [C, *S] = (1, 2, 2, 3) input (3-D
windows of 8 cells or more, at the suite's sizes). Exits 1 while it raises."""

import os
import sys

os.environ["DEV"] = "PYTHON"  # the target's device (read when tinygrad is imported)

import numpy as np
from tinygrad import Tensor, dtypes
from tinygrad.helpers import DEV

from ndpool import spec

DEV.value = "PYTHON"  # also when tinygrad was imported before

calls = {
    "Tensor(arange(16, float16)).max()": lambda: Tensor(np.arange(16, dtype=np.float16)).max(),
    "max_pool2d((2, 2, 2)) of a (1, 2, 2, 3) input": lambda: Tensor(
        np.arange(12, dtype=np.float16).reshape(1, 2, 2, 3)
    ).max_pool2d((2, 2, 2)),
}
wants = [15.0, spec.max_pool(np.arange(12.0).reshape(1, 2, 2, 3), kernel_size=(2, 2, 2))]
failed = False
for (name, call), want in zip(calls.items(), wants):
    try:
        got = call().cast(dtypes.float64).numpy()
    except RuntimeError as exc:
        got, failed = f"raises: {str(exc)[:90]}", True
    print("target", name + ":", got)
    print("spec:  ", np.ravel(want))
sys.exit(1 if failed else 0)
