"""openvino / max-neg-inf-window-lowest: in float32 a MaxPool window whose cells are all -inf
gives the lowest finite value -3.4028235e38 instead of -inf (float16 and bfloat16 give -inf).

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14

from ndpool import spec

x = np.array([[[-np.inf, -np.inf]]], dtype=np.float32)
param = opset14.parameter(list(x.shape), ov.Type.f32)
node = opset14.max_pool(param, [2], [1], [0], [0], [2])
compiled = ov.Core().compile_model(
    ov.Model([node.output(0)], [param]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
)
got = compiled(x)[0]
want = spec.max_pool(x.astype(np.float64), kernel_size=2)

print("target:", got.ravel())
print("spec:  ", want.ravel())
sys.exit(0 if np.array_equal(got.astype(np.float64), want) else 1)
