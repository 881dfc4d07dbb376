"""openvino / avg-exclude-pad-rejects-padding-reaching-kernel: AvgPool with exclude-pad true
rejects an explicit pad that is not smaller than the kernel (x = [1, 2, 3, 4, 5], kernel 2,
stride 1, pads (2, 0)); the spec accepts any padding >= 0 and averages the real cells.

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while OpenVINO rejects
it."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14, opset16

from ndpool import spec

x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]], dtype=np.float32)
param = opset14.parameter(list(x.shape), ov.Type.f32)
try:
    node = opset16.avg_pool(param, [1], [2], [0], [2], True, dilations=[1])
    compiled = ov.Core().compile_model(
        ov.Model([node.output(0)], [param]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
    )
    got = compiled(x)[0].ravel()
except RuntimeError as exc:
    got = "rejected: " + str(exc).splitlines()[0]
try:
    want = spec.avg_pool(
        x.astype(np.float64), kernel_size=2, stride=1, padding=((2, 0),), count_include_pad=False
    ).ravel()
except ValueError as exc:
    want = f"rejected: {exc}"

print("target:", got)
print("spec:  ", want)
sys.exit(1 if isinstance(got, str) and not isinstance(want, str) else 0)
