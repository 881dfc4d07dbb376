"""onnxruntime / max-empty-window-float16-neg-inf: a float16 window of padding only gives -inf,
a float32 one the lowest finite value.

Registered in conformance/targets/deviations/onnxruntime.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from ndpool import spec


def onnx_run(op, x, dtype, **attrs):
    outs = [helper.make_tensor_value_info("Y", dtype, None)]
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    x_info = helper.make_tensor_value_info("X", dtype, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], outs),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString()).run(None, {"X": x})


attrs = dict(kernel_shape=[2], dilations=[2], pads=[1, 1])
x = np.array([[[2.0]]], dtype=np.float16)
(got,) = onnx_run("MaxPool", x, TensorProto.FLOAT16, **attrs)
(got32,) = onnx_run("MaxPool", x.astype(np.float32), TensorProto.FLOAT, **attrs)
# the convention ONNX Runtime follows for float and double (its adapter declares it)
want = spec.max_pool(x, kernel_size=2, dilation=2, padding=1, empty_window="lowest")
same = np.array_equal(got, want)

print("target float16:", got, "(float32:", got32, ")")
print("spec:          ", want)
sys.exit(0 if same else 1)
