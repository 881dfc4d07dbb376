"""onnx-reference / max-signed-zero-np-max:
unstrided MaxPool takes np.max of a window, the LAST of tied zeros.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while float32 gives
the last zero (with the first one's index) and float16 the first (0: the spec's; 2: other)."""

import sys

import numpy as np
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

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
    return ReferenceEvaluator(model).run(None, {"X": x})


x = np.array([[[0.0, -0.0]]], dtype=np.float32)
got, idx = onnx_run("MaxPool", x, n_out=2, kernel_shape=[2], strides=[1])
want, want_idx = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=1, return_indices=True)
same = (
    np.array_equal(got, want)
    and np.array_equal(np.signbit(got), np.signbit(want))
    and np.array_equal(idx, want_idx)
)
# float16 (np.max without a vectorized loop) returns the first zero, as the spec does
h, _ = onnx_run(
    "MaxPool",
    x.astype(np.float16),
    n_out=2,
    dtype=TensorProto.FLOAT16,
    kernel_shape=[2],
    strides=[1],
)

print("target:", got.ravel(), "signbit", np.signbit(got).ravel(), "index", idx.ravel())
print("spec:  ", want.ravel(), "signbit", np.signbit(want).ravel(), "index", want_idx.ravel())
print("target float16:", h.ravel(), "signbit", np.signbit(h).ravel())
if same:
    sys.exit(0)
last_wins = bool(np.signbit(got).ravel()[0]) and idx.ravel()[0] == 0
sys.exit(1 if last_wins and not np.signbit(h).ravel()[0] else 2)
