"""openvino / max-empty-window-index: the index MaxPool gives a window of padding only is 0,
a real cell of the input (which the window does not read), where the spec gives -1.

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14

from ndpool import spec

# x = [1, 2], kernel 2, dilation 3, stride 1, padding 2: the first window reads cells -2
# and 1 (one real cell), the second cells -1 and 2 (padding only)
x = np.array([[[1.0, 2.0]]], dtype=np.float32)
param = opset14.parameter(list(x.shape), ov.Type.f32)
node = opset14.max_pool(param, [1], [3], [2], [2], [2], axis=2)
compiled = ov.Core().compile_model(
    ov.Model(node.outputs(), [param]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
)
result = compiled(x)
got = result[compiled.outputs[1]].ravel()
_, want = spec.max_pool(
    x.astype(np.float64), kernel_size=2, stride=1, padding=2, dilation=3, return_indices=True
)
want = want.ravel()

print("target indices:", got)
print("spec indices:  ", want)
empty = want == -1
sys.exit(1 if empty.any() and (got[empty] >= 0).all() else 0)
