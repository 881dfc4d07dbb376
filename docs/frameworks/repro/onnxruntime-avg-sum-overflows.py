"""onnxruntime / avg-sum-overflows: a float32 window sum overflows where the mean is finite.

Registered in conformance/targets/deviations/onnxruntime.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from ndpool import spec


def onnx_run(x):
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    node = helper.make_node("AveragePool", ["X"], ["Y"], kernel_shape=[3])
    x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], [out]),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString()).run(None, {"X": x})[0]


top = np.finfo(np.float32).max
x = np.array([[[0.5, 0.375, 0.5]]]) * top  # a float32 window whose mean is finite
got = onnx_run(x.astype(np.float32))
want = spec.avg_pool(x, kernel_size=3)
same = np.allclose(np.asarray(got, dtype=np.float64), want, rtol=1e-6)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
