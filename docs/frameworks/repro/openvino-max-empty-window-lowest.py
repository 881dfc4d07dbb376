"""openvino / max-empty-window-lowest: a MaxPool window of padding only (with dilation) gives
the dtype's lowest finite value (-3.4028235e38 in float32), where OpenVINO's own MaxPool-14
text says padded cells are -inf (and the spec gives -inf: the max of no cell).

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14

from ndpool import spec

# x = [1], kernel 2, dilation 2, stride 1, padding 1: the one window reads cells -1 and 1,
# both padding
x = np.array([[[1.0]]], dtype=np.float32)
param = opset14.parameter(list(x.shape), ov.Type.f32)
node = opset14.max_pool(param, [1], [2], [1], [1], [2])
compiled = ov.Core().compile_model(
    ov.Model([node.output(0)], [param]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
)
got = compiled(x)[0]
want = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=1, padding=1, dilation=2)

print("target:", got.ravel())
print("spec:  ", want.ravel())
sys.exit(1 if got.ravel()[0] == np.finfo(np.float32).min and want.ravel()[0] == -np.inf else 0)
