"""onnxruntime / avg-empty-window-zero:
AveragePool (count_include_pad = 0) gives 0 for a window of padding only.

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


# kernel 2, dilation 2, padding 1 on a 1-cell axis: the window reads the two pads only
x = np.array([[[2.0]]], dtype=np.float32)
got = onnx_run("AveragePool", x, kernel_shape=[2], dilations=[2], pads=[1, 1], count_include_pad=0)[
    0
]
want = spec.avg_pool(
    x.astype(np.float64), kernel_size=2, dilation=2, padding=1, count_include_pad=False
)  # 0 / 0 = NaN
same = np.array_equal(got, want, equal_nan=True)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
