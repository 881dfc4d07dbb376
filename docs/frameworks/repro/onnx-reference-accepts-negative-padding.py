"""onnx-reference / accepts-negative-padding: MaxPool computes a negative pad (spec C5).

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from ndpool import spec


def onnx_run(op, x, **attrs):
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], [out]),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ReferenceEvaluator(model).run(None, {"X": x})


x = np.array([[[1.0, 2.0, 3.0, 4.0]]], dtype=np.float32)
try:
    got = onnx_run("MaxPool", x, kernel_shape=[2], pads=[-1, -1])[0]
except Exception as exc:
    got = f"rejected: {type(exc).__name__}"
try:
    want = spec.max_pool(x.astype(np.float64), kernel_size=2, padding=((-1, -1),))
except ValueError as exc:
    want = f"rejected: {exc}"
same = isinstance(got, str)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
