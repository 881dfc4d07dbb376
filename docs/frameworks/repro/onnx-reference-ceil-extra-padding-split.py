"""onnx-reference / ceil-extra-padding-split: with ceil_mode, AveragePool pads half of the
last window's overhang at the beginning, shifting every window.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from ndpool import spec


def onnx_run(op, x, dtype=TensorProto.DOUBLE, **attrs):
    outs = [helper.make_tensor_value_info("Y", dtype, None)]
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    x_info = helper.make_tensor_value_info("X", dtype, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], outs),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ReferenceEvaluator(model).run(None, {"X": x})


x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
(got,) = onnx_run("AveragePool", x, kernel_shape=[3], strides=[3], ceil_mode=1)
want = spec.avg_pool(x, kernel_size=3, stride=3, ceil_mode=True)  # [1 2 3] [4 | overhang]
same = np.allclose(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
