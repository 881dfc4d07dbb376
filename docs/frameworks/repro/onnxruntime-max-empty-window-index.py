"""onnxruntime / max-empty-window-index: the index of a window of padding only is -1 on
every axis, flattened like a position (-W - 1 in 2-D, -H*W - W - 1 in 3-D) instead of -1.

Registered in conformance/targets/deviations/onnxruntime.toml. Exits 1 while the difference
exists (0: every index is the spec's; 2: some other index)."""

import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from ndpool import spec


def onnx_run(op, x, **attrs):
    outs = [
        helper.make_tensor_value_info("Y", TensorProto.FLOAT, None),
        helper.make_tensor_value_info("I", TensorProto.INT64, None),
    ]
    node = helper.make_node(op, ["X"], ["Y", "I"], **attrs)
    x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], outs),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString()).run(None, {"X": x})


# kernel 2, dilation 2, padding 1, stride 1: on the first axis, 1 cell long, every window
# reads cells -1 and 1, both padding. Planes (1,), (1, 3), (1, 3, 3); one (N, C) plane, so
# ONNX's flat Indices are the per-plane ones.
fails, other = [], []
for d in (1, 2, 3):
    spatial = (1,) + (3,) * (d - 1)
    x = np.arange(1.0, 1.0 + np.prod(spatial), dtype=np.float32).reshape((1, 1, *spatial))
    attrs = dict(kernel_shape=[2] * d, dilations=[2] * d, strides=[1] * d, pads=[1] * (2 * d))
    _, idx = onnx_run("MaxPool", x, **attrs)
    _, want = spec.max_pool(
        x,
        kernel_size=2,
        dilation=2,
        stride=1,
        padding=1,
        return_indices=True,
        empty_window="lowest",
    )
    # -1 on every axis, flattened row-major over the plane: sum_a -prod(spatial[a+1:])
    flat = -sum(int(np.prod(spatial[a + 1 :])) for a in range(d))
    print(
        f"{d}-D plane {spatial}: target {idx.ravel()}, spec {np.ravel(want)}; "
        f"-1 per axis, flattened: {flat}"
    )
    if not np.array_equal(idx, want):
        (fails if (idx == flat).all() else other).append(d)

print("registered difference (2-D / 3-D, -1 per axis flattened) in:", fails)
if other or 1 in fails:
    sys.exit(2)
sys.exit(1 if fails else 0)
