"""onnx-reference / lp-naive-power: float16 LpPool overflows in |x|**p where the result is finite,
and its mean of tiny cells loses digits even at p = 1.

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


x = np.array([[[58.375, -31.515625]]], dtype=np.float16)
got = onnx_run("LpPool", x, dtype=TensorProto.FLOAT16, kernel_shape=[2], p=3)[0]
want = spec.lp_pool(x.astype(np.float64), np.array(3.0), kernel_size=2)
same = np.allclose(got.astype(np.float64), want, rtol=1e-2)

print("target:", got)
print("spec:  ", want)

# p = 1 on subnormal float16 cells: the mean (sum / 4) underflows before it is scaled back
tiny = np.array([[[[2**-23, 2**-22], [1.5 * 2**-23, 2**-24]]]], dtype=np.float16)
got1 = onnx_run("LpPool", tiny, dtype=TensorProto.FLOAT16, kernel_shape=[2, 2], p=1)[0]
want1 = spec.lp_pool(tiny.astype(np.float64), np.array(1.0), kernel_size=(2, 2))
same1 = np.array_equal(got1.astype(np.float64), np.asarray(want1).astype(np.float16))
print("target (p = 1):", got1.ravel())
print("spec (p = 1):  ", np.ravel(want1))
sys.exit(0 if same or same1 else 1)
