"""onnx-reference / max-nan: MaxPool drops NaN ([1, NaN] -> 1) and raises on a window of NaN only.

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


x = np.array([[[1.0, np.nan]]], dtype=np.float32)
got = onnx_run("MaxPool", x, kernel_shape=[2])[0]
want = spec.max_pool(x.astype(np.float64), kernel_size=2)
same = np.array_equal(got, want, equal_nan=True)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
