"""openvino / max-neg-inf-window-index: the index of a MaxPool window whose cells are all -inf
is 0, the plane's first cell, even where the window does not read it: x = [1, -inf, -inf],
kernel 1, gives indices [0, 0, 0] where the spec gives [0, 1, 2].

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14

from ndpool import spec

x = np.array([[[1.0, -np.inf, -np.inf]]], dtype=np.float16)
param = opset14.parameter(list(x.shape), ov.Type.f16)
node = opset14.max_pool(param, [1], [1], [0], [0], [1], axis=2)
compiled = ov.Core().compile_model(
    ov.Model(node.outputs(), [param]), "CPU", {"INFERENCE_PRECISION_HINT": "f16"}
)
result = compiled(x)
got, got_idx = (result[o].ravel() for o in compiled.outputs)
want, want_idx = spec.max_pool(x.astype(np.float64), kernel_size=1, return_indices=True)

print("target:", got, got_idx)
print("spec:  ", want.ravel(), want_idx.ravel())
sys.exit(0 if np.array_equal(got_idx, want_idx.ravel()) else 1)
