"""onnx-reference / indices-per-plane: MaxPool with every stride and dilation 1 returns
Indices per (N, C) plane, not flat over [N, C, *S] as the ONNX operator says (the strided
and dilated loops return them flat).

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while exactly that
holds (0: flat Indices; 2: another outcome)."""

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


x = np.array([[[1.0, 2.0, 0.0, 0.0], [4.0, 3.0, 0.0, 0.0]]], dtype=np.float32)  # N=1, C=2, L=4
verdict = {}
for stride in (1, 2):
    got = onnx_run("MaxPool", x, n_out=2, kernel_shape=[2], strides=[stride])[1]
    plane = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=stride, return_indices=True)[
        1
    ]
    flat = plane + np.array([0, 4]).reshape(1, 2, 1)  # ONNX's flat layout: + (n*C + c) * L
    verdict[stride] = (
        "flat"
        if np.array_equal(got, flat)
        else ("per plane" if np.array_equal(got, plane) else "other")
    )
    print(f"stride {stride}: target {got.tolist()}; flat (ONNX) {flat.tolist()}")

if verdict == {1: "flat", 2: "flat"}:
    sys.exit(0)
sys.exit(1 if verdict == {1: "per plane", 2: "flat"} else 2)
