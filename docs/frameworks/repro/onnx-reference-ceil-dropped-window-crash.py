"""onnx-reference / ceil-dropped-window-crash: AveragePool with ceil_mode and an end pad past
the kernel raises IndexError (pool() loops over one more window than the output holds).

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from ndpool import spec


def onnx_run(op, x, **attrs):
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], [out]),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ReferenceEvaluator(model).run(None, {"X": x})


x = np.array([[[1.0, 2.0]]], dtype=np.float32)
attrs = dict(kernel_shape=[2], strides=[2], pads=[0, 2], ceil_mode=1, count_include_pad=0)
want = spec.avg_pool(
    x.astype(np.float64), kernel_size=2, padding=((0, 2),), ceil_mode=True, count_include_pad=False
)
try:
    got = onnx_run("AveragePool", x, **attrs)[0]
    same = np.array_equal(got.astype(np.float64), want)
except IndexError as exc:
    got, same = f"raised IndexError: {exc}", False

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
