"""onnx-reference / global-max-pool-1d-3d: GlobalMaxPool on [N, C, L] also reduces the channels;
on [N, C, D, H, W] it reduces H and W only; 2-D is right.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while exactly that
holds (0: the spec's shapes and values; 2: another outcome)."""

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


x = np.array([[[1.0, 2.0], [5.0, 3.0]]], dtype=np.float32)  # N=1, C=2, L=2
shapes = {}
for d in (1, 2, 3):
    xd = x.reshape((1, 2) + (1,) * (d - 1) + (2,))
    got = onnx_run("GlobalMaxPool", xd)[0]
    want = spec.adaptive_max_pool(xd.astype(np.float64), output_size=1)
    right = got.shape == want.shape and np.array_equal(got, want)
    shapes[d] = "spec" if right else got.shape
    print(f"{d}-D: target {got.shape} {got.ravel()}; spec {want.shape} {want.ravel()}")

if all(v == "spec" for v in shapes.values()):
    sys.exit(0)
sys.exit(1 if shapes == {1: (1, 1), 2: "spec", 3: (1, 2, 1, 1, 1, 1)} else 2)
