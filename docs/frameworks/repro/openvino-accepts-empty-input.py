"""openvino / accepts-empty-input: MaxPool and AvgPool accept an input with a spatial extent of
0 when the padding makes room for a window, and return values read from memory the model
never wrote: x of shape (1, 1, 0), kernel 2, padding 1 gives one cell of garbage (e.g.
-1.8e33), where the spec rejects the input (C7).

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while OpenVINO accepts
such an input."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14, opset16

from ndpool import spec

x = np.zeros((1, 1, 0), dtype=np.float32)
param = opset14.parameter(list(x.shape), ov.Type.f32)
nodes = {
    "MaxPool": opset14.max_pool(param, [1], [1], [1], [1], [2]).output(0),
    "AvgPool": opset16.avg_pool(param, [1], [1], [1], [2], False, dilations=[1]).output(0),
}
accepted = {}
for name, output in nodes.items():
    try:
        compiled = ov.Core().compile_model(
            ov.Model([output], [param]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
        )
        got = compiled(x)[0]
        accepted[name] = True
        print(f"target {name}: accepted, output of shape {got.shape}: {got.ravel()}")
    except RuntimeError as exc:
        accepted[name] = False
        print(f"target {name}: rejected: {str(exc).splitlines()[0]}")
try:
    spec.max_pool(x.astype(np.float64), kernel_size=2, stride=1, padding=1)
    print("spec: accepted")
except ValueError as exc:
    print(f"spec: rejected: {exc}")
sys.exit(1 if all(accepted.values()) else 0)
