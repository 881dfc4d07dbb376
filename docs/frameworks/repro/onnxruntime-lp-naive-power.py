"""onnxruntime / lp-naive-power: float32 LpPool overflows in |x|**p where the result is finite.

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


x = np.array([[[3.3e35]]], dtype=np.float32)
got = onnx_run("LpPool", x, kernel_shape=[1], p=2)[0]
want = spec.lp_pool(x.astype(np.float64), np.array(2.0), kernel_size=1)
same = np.allclose(got.astype(np.float64), want, rtol=1e-6)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
