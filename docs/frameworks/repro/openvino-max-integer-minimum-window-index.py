"""openvino / max-integer-minimum-window-index: a window of the dtype's minimum has index 0.

uint8 [3, 0], kernel 1: the second window holds only 0, uint8's minimum, and MaxPool gives it
index 0 (the plane's first cell, which it does not read); the spec gives [0, 1].

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14

from ndpool import spec

x = np.array([[[3, 0]]], dtype=np.uint8)
param = opset14.parameter(list(x.shape), ov.Type.u8)
node = opset14.max_pool(param, [1], [1], [0], [0], [1], axis=2)
compiled = ov.Core().compile_model(ov.Model(node.outputs(), [param]), "CPU")
result = compiled(x)
got, got_idx = (result[o].ravel() for o in compiled.outputs)
want, want_idx = spec.max_pool(x, kernel_size=1, return_indices=True)

print("target:", got, got_idx)
print("spec:  ", want.ravel(), want_idx.ravel())
sys.exit(0 if np.array_equal(got_idx, want_idx.ravel()) else 1)
