"""onnxruntime / zero-channels-rejected: an input with C = 0 channels is rejected ("Only N can
be zero") by every pooling node, where the spec returns an empty output of shape [N, 0, *O].

Registered in conformance/targets/deviations/onnxruntime.toml. Exits 1 while every node
rejects it (0: every node gives the spec's empty output; 2: a mix, or another outcome)."""

import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from ndpool import spec


def onnx_run(op, x, **attrs):
    outs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)]
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", "C", "H", "W"])
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], outs),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString()).run(None, {"X": x})


x = np.zeros((1, 0, 4, 4), dtype=np.float32)
nodes = {
    "MaxPool": (dict(kernel_shape=[2, 2], strides=[2, 2]), spec.max_pool(x, kernel_size=2)),
    "AveragePool": (dict(kernel_shape=[2, 2], strides=[2, 2]), spec.avg_pool(x, kernel_size=2)),
    "LpPool": (dict(kernel_shape=[2, 2], strides=[2, 2], p=2), spec.lp_pool(x, 2.0, kernel_size=2)),
    "GlobalMaxPool": ({}, spec.adaptive_max_pool(x, output_size=1)),
    "GlobalAveragePool": ({}, spec.adaptive_avg_pool(x, output_size=1)),
}
outcome = {}
for op, (attrs, want) in nodes.items():
    try:
        (got,) = onnx_run(op, x, **attrs)
        outcome[op] = "spec" if got.shape == np.shape(want) else f"shape {got.shape}"
        print(f"{op}: target shape {got.shape}, spec {np.shape(want)}")
    except Exception as exc:
        message = str(exc).split("was false. ")[-1].strip()
        outcome[op] = "rejected" if "Only N can be zero" in message else message
        print(f"{op}: target raised {message!r}; spec shape {np.shape(want)}")

if all(v == "spec" for v in outcome.values()):
    sys.exit(0)
sys.exit(1 if all(v == "rejected" for v in outcome.values()) else 2)
