"""openvino / avg-ceil-overhang-counted: with rounding_type ceil_torch and exclude-pad false,
AvgPool divides a last window that runs past the end padding by the whole kernel size; the
spec (and PyTorch, whose ceil_mode ceil_torch is documented to follow) divides by the cells
inside the padded input: x = [1, 2, 3, 4], kernel 3, stride 2, padding 1 gives 4/3 in the last
window instead of 4/2 = 2.

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14, opset16

from ndpool import spec

x = np.array([[[1.0, 2.0, 3.0, 4.0]]], dtype=np.float32)
param = opset14.parameter(list(x.shape), ov.Type.f32)
node = opset16.avg_pool(param, [2], [1], [1], [3], False, "ceil_torch", dilations=[1])
compiled = ov.Core().compile_model(
    ov.Model([node.output(0)], [param]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
)
got = compiled(x)[0].astype(np.float64)
want = spec.avg_pool(
    x.astype(np.float64), kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=True
)

print("target:", got.ravel())
print("spec:  ", want.ravel())
sys.exit(0 if np.allclose(got, want, rtol=1e-6) else 1)
