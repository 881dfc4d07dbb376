"""onnx-reference / max-int8-2d-raises: an int8 2-D MaxPool with stride 1 raises "cannot
convert float NaN to integer" on a plain 3 x 3 input; uint8 and a stride of 2 compute it.

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
    x_info = helper.make_tensor_value_info("X", elem, ["N", "C", "H", "W"])
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], [out]),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ReferenceEvaluator(model).run(None, {"X": x})


x = np.arange(9, dtype=np.int8).reshape(1, 1, 3, 3) - 4
want = spec.max_pool(x, kernel_size=(2, 2), stride=1)
try:
    got = onnx_run("MaxPool", x, TensorProto.INT8, kernel_shape=[2, 2])[0]
    same = np.array_equal(got, want) and got.dtype == want.dtype
except Exception as exc:
    got, same = f"raised {type(exc).__name__}: {exc}", False
as_uint8 = onnx_run("MaxPool", (x + 4).astype(np.uint8), TensorProto.UINT8, kernel_shape=[2, 2])[0]
strided = onnx_run("MaxPool", x, TensorProto.INT8, kernel_shape=[2, 2], strides=[2, 2])[0]

print("target:", got)
print("target, uint8 (x + 4):", as_uint8.tolist(), "int8 stride 2:", strided.tolist())
print("spec:  ", want.tolist())
sys.exit(0 if same else 1)
