"""torch-compile / padding-limit-ignores-dilation: max_pool rejects padding above kernel // 2
even where dilation makes the effective kernel long enough (spec C6).

Dynamo runs F.max_pool1d's shape check on fake tensors while tracing and raises it wrapped
(TorchRuntimeError: ... got RuntimeError('max_pool1d() padding should be at most half of kernel
size ...')).

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


# kernel 2, dilation 3: the effective kernel is 4, so the spec allows padding up to 2
x = np.array([[[1.0, 2.0, 3.0]]])
cfg = dict(kernel_size=2, dilation=3, padding=2)
try:
    got = torch.compile(lambda t: F.max_pool1d(t, **cfg), dynamic=False)(torch.tensor(x)).numpy()
except Exception as exc:
    got = why(exc)
want = spec.max_pool(x, **cfg)  # windows read cells {1} and {0}: [2, 1]
same = isinstance(got, np.ndarray) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
