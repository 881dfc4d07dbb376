"""onnx-reference / same-padding-ignores-dilation:
AveragePool / LpPool with auto_pad SAME_UPPER size the padding without the dilation.

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


x = np.array([[[2.0, 1.0]]], dtype=np.float32)
attrs = dict(kernel_shape=[2], dilations=[2], strides=[1], auto_pad="SAME_UPPER")
cfg = dict(kernel_size=2, dilation=2, stride=1, padding="same")
try:
    got = onnx_run("LpPool", x, p=1, **attrs)[0]
except Exception as exc:
    got = f"{type(exc).__name__}: {exc}"
want = spec.lp_pool(x.astype(np.float64), np.array(1.0), **cfg)
same = isinstance(got, np.ndarray) and got.shape == want.shape and np.allclose(got, want)
# MaxPool sizes SAME from the dilated kernel: right
got_max = onnx_run("MaxPool", x, **attrs)[0]
max_right = np.array_equal(got_max, spec.max_pool(x.astype(np.float64), **cfg))

print("LpPool target:", got)
print("LpPool spec:  ", want)
print("MaxPool target:", got_max, "(the spec's)" if max_right else "(not the spec's)")
sys.exit(0 if same else 1 if max_right else 2)
