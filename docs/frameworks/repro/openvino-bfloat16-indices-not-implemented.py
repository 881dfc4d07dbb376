"""openvino / bfloat16-indices-not-implemented: a bfloat16 MaxPool whose indices output is used
does not compile on the CPU plugin ("MaxPool from opset8 and opset14 is supported only with
one output", and the reference fallback has no bf16); float16 and float32 compile.

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14

from ndpool import spec

x = np.array([[[1.0, 3.0]]])
param = opset14.parameter(list(x.shape), ov.Type.bf16)
node = opset14.max_pool(param, [2], [1], [0], [0], [2], axis=2)
try:
    compiled = ov.Core().compile_model(
        ov.Model(node.outputs(), [param]), "CPU", {"INFERENCE_PRECISION_HINT": "bf16"}
    )
    tensor = ov.Tensor(ov.Type.bf16, ov.Shape(list(x.shape)))
    # bfloat16 is the top half of a float32 (exact here: x holds bfloat16 values)
    bits = (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    tensor.data.view(np.uint16)[...] = bits
    request = compiled.create_infer_request()
    request.infer({0: tensor})
    got = request.get_output_tensor(1).data.ravel().tolist()
except RuntimeError as exc:
    got = "rejected: " + str(exc).split("Not Implemented:")[1].strip().splitlines()[0]
want = spec.max_pool(x, kernel_size=2, return_indices=True)[1]

print("target indices:", got)
print("spec indices:  ", want.ravel().tolist())
sys.exit(1 if isinstance(got, str) else 0)
