"""torch-compile / avg-pool3d-input-smaller-than-kernel: avg_pool3d rejects a depth of 1 under a
kernel depth of 2 although padding 1 makes the padded depth 3 (spec C8 needs the padded extent
only; avg_pool2d accepts the same).

Dynamo runs avg_pool3d's shape check on fake tensors while tracing and raises it wrapped.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec


def why(exc):
    """The error that Dynamo met while tracing ("... got RuntimeError('...')"), else its own."""
    text = str(exc)
    i = text.find(": got ")
    return f"{type(exc).__name__}: {(text[i + 6 :] if i >= 0 else text).strip().splitlines()[0]}"


x = np.ones((1, 1, 1, 2, 2))
cfg = dict(kernel_size=(2, 1, 1), padding=(1, 0, 0))
try:
    got = torch.compile(lambda t: F.avg_pool3d(t, **cfg), dynamic=False)(torch.tensor(x)).numpy()
except Exception as exc:
    got = why(exc)
want = spec.avg_pool(x, **cfg)  # count_include_pad: each window is (pad + 1) / 2
same = isinstance(got, np.ndarray) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want.ravel(), "shape", want.shape)
sys.exit(0 if same else 1)
