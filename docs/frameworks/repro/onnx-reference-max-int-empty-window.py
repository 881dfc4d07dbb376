"""onnx-reference / max-int-empty-window: an int8 MaxPool with a window of padding only raises
(float MaxPool writes NaN there); the spec gives the dtype's minimum.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from ndpool import spec


def onnx_run(op, x, elem, **attrs):
    out = helper.make_tensor_value_info("Y", elem, None)
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    x_info = helper.make_tensor_value_info("X", elem, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], [out]),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ReferenceEvaluator(model).run(None, {"X": x})


x = np.array([[[3, 1, 2]]], dtype=np.int8)  # kernel 2, stride 2, pads (2, 0): [pad pad] [3 1]
want = spec.max_pool(x, kernel_size=2, padding=((2, 0),))
try:
    got = onnx_run("MaxPool", x, TensorProto.INT8, kernel_shape=[2], strides=[2], pads=[2, 0])[0]
    same = np.array_equal(got, want)
except Exception as exc:
    got, same = f"raised {type(exc).__name__}", False

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
