"""openvino / avg-sum-overflows: AvgPool sums the window in the input's dtype (float32,
bfloat16) before dividing, so the sum overflows to inf where the mean is finite: the average
of [3e38, 3e38] is inf in float32, the spec's is 3e38 (float16 sums in float32 and does not
overflow).

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14, opset16

from ndpool import spec

x = np.array([[[3e38, 3e38]]], dtype=np.float32)
param = opset14.parameter(list(x.shape), ov.Type.f32)
node = opset16.avg_pool(param, [2], [0], [0], [2], False, dilations=[1])
compiled = ov.Core().compile_model(
    ov.Model([node.output(0)], [param]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
)
got = compiled(x)[0]
want = spec.avg_pool(x.astype(np.float64), kernel_size=2)

print("target:", got.ravel())
print("spec:  ", want.ravel())
sys.exit(1 if np.isinf(got).all() and np.isfinite(want).all() else 0)
