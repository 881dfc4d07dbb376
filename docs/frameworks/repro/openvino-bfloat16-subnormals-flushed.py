"""openvino / bfloat16-subnormals-flushed: the CPU plugin's bfloat16 pooling flushes subnormals
to zero: the max and the average of [2^-130, 2^-130] are 0 instead of 2^-130 (float16 and
float32 keep their subnormals).

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14, opset16

from ndpool import spec

x = np.array([[[2.0**-130, 2.0**-130]]])  # a bfloat16 subnormal (the smallest normal is 2^-126)
param = opset14.parameter(list(x.shape), ov.Type.bf16)
mx = opset14.max_pool(param, [2], [1], [0], [0], [2])
avg = opset16.avg_pool(param, [2], [0], [0], [2], False, dilations=[1])
compiled = ov.Core().compile_model(
    ov.Model([mx.output(0), avg.output(0)], [param]), "CPU", {"INFERENCE_PRECISION_HINT": "bf16"}
)
tensor = ov.Tensor(ov.Type.bf16, ov.Shape(list(x.shape)))
# bfloat16 is the top half of a float32 (exact here: x holds bfloat16 values)
tensor.data.view(np.uint16)[...] = (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
request = compiled.create_infer_request()
request.infer({0: tensor})
got = [
    (request.get_output_tensor(i).data.view(np.uint16).astype(np.uint32) << 16)
    .view(np.float32)
    .astype(np.float64)
    for i in (0, 1)
]
want = [spec.max_pool(x, kernel_size=2), spec.avg_pool(x, kernel_size=2)]

print("target max, avg:", got[0].ravel(), got[1].ravel())
print("spec max, avg:  ", want[0].ravel(), want[1].ravel())
sys.exit(1 if all((g == 0).all() for g in got) and all((w > 0).all() for w in want) else 0)
