"""onnx-reference / accepts-empty-input: a spatial extent of 0 is accepted (spec C7).

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


x = np.zeros((1, 1, 0), dtype=np.float32)
try:
    got = onnx_run("AveragePool", x, kernel_shape=[1], auto_pad="VALID")[0].shape
except Exception as exc:
    got = f"rejected: {type(exc).__name__}"
try:
    want = spec.avg_pool(x.astype(np.float64), kernel_size=1, padding="valid")
except ValueError as exc:
    want = f"rejected: {exc}"
same = isinstance(got, str)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
