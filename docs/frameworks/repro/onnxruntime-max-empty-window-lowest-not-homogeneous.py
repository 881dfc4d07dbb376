"""onnxruntime / max-empty-window-lowest-not-homogeneous: under empty_window="lowest" a window
of padding only is the constant lowest finite value, so MaxPool(2 x) != 2 MaxPool(x) there.

Not a bug: a consequence of the convention empty_window="lowest" (registered in
conformance/targets/deviations/onnxruntime.toml). Exits 1 while MaxPool(2 x) is the lowest
finite value where 2 MaxPool(x) overflows to -inf (0: homogeneous, as under the spec's
default -inf; 2: anything else)."""

import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from ndpool import spec


def onnx_run(op, x, **attrs):
    outs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)]
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], outs),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString()).run(None, {"X": x})


attrs = dict(kernel_shape=[2], dilations=[2], strides=[1], pads=[1, 1])
x1 = np.array([[[2.0]]], dtype=np.float32)  # the window reads cells -1 and 1: padding only
cfg = dict(kernel_size=2, dilation=2, stride=1, padding=1)
(f_x,) = onnx_run("MaxPool", x1, **attrs)
(f_2x,) = onnx_run("MaxPool", 2 * x1, **attrs)
with np.errstate(over="ignore"):
    scaled = np.float32(2) * f_x  # 2 * lowest overflows to -inf in float32
lowest = np.finfo(np.float32).min
named = spec.max_pool(2 * x1, empty_window="lowest", **cfg)
default_2x, default_x = spec.max_pool(2 * x1, **cfg), spec.max_pool(x1, **cfg)

print("target MaxPool(2x):                    ", f_2x.ravel())
print("target 2 * MaxPool(x):                 ", scaled.ravel())
print("spec (empty_window='lowest') f(2x):    ", np.ravel(named))
print("spec (default '-inf') f(2x), 2 f(x):   ", np.ravel(default_2x), 2 * np.ravel(default_x))
if np.array_equal(f_2x, scaled):
    sys.exit(0)
sys.exit(1 if f_2x.ravel()[0] == lowest and scaled.ravel()[0] == -np.inf else 2)
