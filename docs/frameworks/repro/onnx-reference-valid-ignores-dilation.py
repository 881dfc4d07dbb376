"""onnx-reference / valid-ignores-dilation: AveragePool / LpPool with auto_pad VALID size the
output without the dilation.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while LpPool differs
and MaxPool (which uses the dilated kernel) does not (0: LpPool right; 2: MaxPool wrong too)."""

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


x = np.array([[[2.0, 1.0, 0.0, -2.0]]], dtype=np.float32)
got = onnx_run("LpPool", x, kernel_shape=[2], dilations=[2], strides=[2], auto_pad="VALID", p=1)[0]
want = spec.lp_pool(x.astype(np.float64), np.array(1.0), kernel_size=2, dilation=2, padding="valid")
same = got.shape == want.shape and np.allclose(got, want)
got_max = onnx_run("MaxPool", x, kernel_shape=[2], dilations=[2], strides=[2], auto_pad="VALID")[0]
want_max = spec.max_pool(x.astype(np.float64), kernel_size=2, dilation=2, padding="valid")
max_right = got_max.shape == want_max.shape and np.array_equal(got_max, want_max)

print("LpPool target:", got)
print("LpPool spec:  ", want)
print("MaxPool target:", got_max, "(the spec's)" if max_right else f"(spec {want_max})")
sys.exit(0 if same else 1 if max_right else 2)
