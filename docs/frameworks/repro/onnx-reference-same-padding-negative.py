"""onnx-reference / same-padding-negative:
SAME with stride > kernel: a negative pad is not clamped at 0.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while the difference
exists."""

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


x = np.array([[[[1.0, -2.0]]]], dtype=np.float32)
kw = dict(kernel_shape=[1, 1], strides=[1, 2], auto_pad="SAME_UPPER")
got_max = onnx_run("MaxPool", x, **kw)[0]  # reads the window shifted by the pad of -1
try:
    got_avg = onnx_run("AveragePool", x, **kw)[0]
except Exception as exc:  # "index can't contain negative values" (np.pad)
    got_avg = f"{type(exc).__name__}: {exc}"
xd = x.astype(np.float64)
want_max = spec.max_pool(xd, kernel_size=1, stride=(1, 2), padding="same")
want_avg = spec.avg_pool(xd, kernel_size=1, stride=(1, 2), padding="same")
same = np.array_equal(got_max, want_max) and (
    isinstance(got_avg, np.ndarray) and np.array_equal(got_avg, want_avg)
)

print("target:", got_max.ravel(), got_avg)
print("spec:  ", want_max.ravel(), want_avg.ravel())
sys.exit(0 if same else 1)
