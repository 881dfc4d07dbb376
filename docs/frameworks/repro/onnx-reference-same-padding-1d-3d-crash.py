"""onnx-reference / same-padding-1d-3d-crash: 1-D MaxPool with auto_pad SAME_UPPER raises.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from ndpool import spec

x = np.array([[[4.0, 3.0, 2.0, 1.0]]], dtype=np.float32)
node = helper.make_node(
    "MaxPool", ["X"], ["Y"], kernel_shape=[2], strides=[1], auto_pad="SAME_UPPER"
)
graph = helper.make_graph(
    [node],
    "g",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
try:
    got = ReferenceEvaluator(model).run(None, {"X": x})[0]
except Exception as exc:
    got = f"{type(exc).__name__}: {exc}"
want = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=1, padding="same")
same = isinstance(got, np.ndarray) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
