"""onnxruntime / max-signed-zero-not-first:
value-only 2-D MaxPool returns -0.0 for the window [0.0, -0.0].

Registered in conformance/targets/deviations/onnxruntime.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from ndpool import spec


def onnx_run(op, x, n_out=1, dtype=TensorProto.FLOAT, **attrs):
    outs = [helper.make_tensor_value_info("Y", dtype, None)]
    if n_out == 2:
        outs.append(helper.make_tensor_value_info("I", TensorProto.INT64, None))
    node = helper.make_node(op, ["X"], [o.name for o in outs], **attrs)
    x_info = helper.make_tensor_value_info("X", dtype, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], outs),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString()).run(None, {"X": x})


x = np.array([[[[0.0, -0.0], [1.0, -1.0]]]], dtype=np.float32)
got = onnx_run("MaxPool", x, kernel_shape=[1, 2], strides=[1, 2])[0]
want = spec.max_pool(x.astype(np.float64), kernel_size=(1, 2))  # the first of tied zeros
same = np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))

print("target:", got.ravel(), "signbit", np.signbit(got).ravel())
print("spec:  ", want.ravel(), "signbit", np.signbit(want).ravel())
sys.exit(0 if same else 1)
