"""onnx-reference / global-max-pool-1d-3d: GlobalMaxPool on [N, C, L] also reduces the channels.

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


x = np.array([[[1.0, 2.0], [5.0, 3.0]]], dtype=np.float32)
got = onnx_run("GlobalMaxPool", x)[0]
want = spec.adaptive_max_pool(x.astype(np.float64), output_size=1)
same = got.shape == want.shape and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
