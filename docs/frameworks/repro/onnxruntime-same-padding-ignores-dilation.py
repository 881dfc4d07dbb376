"""onnxruntime / same-padding-ignores-dilation:
auto_pad SAME_UPPER sizes the padding without the dilation.

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


x = np.array([[[1.0, 2.0, 3.0]]], dtype=np.float32)
try:
    got = onnx_run(
        "MaxPool", x, kernel_shape=[3], dilations=[2], strides=[1], auto_pad="SAME_UPPER"
    )[0]
except Exception as exc:  # "Calculated output dimension is negative"
    got = f"{type(exc).__name__}: {str(exc)[:90]}"
want = spec.max_pool(x.astype(np.float64), kernel_size=3, dilation=2, stride=1, padding="same")
same = isinstance(got, np.ndarray) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
