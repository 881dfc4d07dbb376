"""onnx-reference / max-int8-empty-input-raises: an int8 2-D MaxPool of an empty input (N = 0)
raises "cannot convert float NaN to integer"; float32 and uint8 return an empty output.

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


x = np.zeros((0, 1, 3, 3), dtype=np.int8)
want = spec.max_pool(x, kernel_size=(2, 2), stride=1)
try:
    got = onnx_run("MaxPool", x, TensorProto.INT8, kernel_shape=[2, 2])[0]
    same = got.shape == want.shape and got.dtype == want.dtype
    got = f"shape {got.shape}"
except Exception as exc:
    got, same = f"raised {type(exc).__name__}: {exc}", False

print("target:", got)
print("spec:   shape", want.shape)
sys.exit(0 if same else 1)
