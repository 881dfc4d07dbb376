"""onnxruntime / max-empty-window-lowest:
a window of padding only gives the lowest finite float, not -inf.

A convention, not a deviation: the spec names it empty_window="lowest" (a [[convention]] in
conformance/targets/deviations/onnxruntime.toml). Exits 1 while ONNX Runtime differs from the spec's
default and equals the spec under that option (0: the default; 2: neither)."""

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


x = np.array([[[2.0]]], dtype=np.float32)
(got,) = onnx_run("MaxPool", x, kernel_shape=[2], dilations=[2], pads=[1, 1])
cfg = dict(kernel_size=2, dilation=2, padding=1)
default = spec.max_pool(x, **cfg)
named = spec.max_pool(x, empty_window="lowest", **cfg)  # float32 in: float32's lowest

print("target:                         ", got)
print("spec (default, '-inf'):         ", default)
print("spec (empty_window='lowest'):   ", named)
sys.exit(0 if np.array_equal(got, default) else 1 if np.array_equal(got, named) else 2)
