"""onnxruntime / max-same-padding-negative: MaxPool with a negative SAME padding raises
(float16 / float32 without Indices) or starts every window late (float64, or with Indices).

Registered in conformance/targets/deviations/onnxruntime.toml. Exits 1 while both differences
exist (0: the spec's values everywhere; 2: another outcome)."""

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


# L = 3, kernel 1, stride 3: ONNX's SAME padding (ceil(L/s) - 1) * s + kernel - L = -2, of
# which total / 2 = -1 goes to the beginning (SAME_UPPER). The spec pads 0: [x0].
x = np.array([[[1.0, 2.0, 3.0]]])
attrs = dict(kernel_shape=[1], strides=[3], auto_pad="SAME_UPPER")
want = spec.max_pool(x, kernel_size=1, stride=3, padding="same")
print("spec:", want.ravel())
outcome = {}
for name, dtype, n_out in (
    ("float32", TensorProto.FLOAT, 1),
    ("float32 with Indices", TensorProto.FLOAT, 2),
    ("float64", TensorProto.DOUBLE, 1),
):
    xx = x.astype(np.float32 if dtype == TensorProto.FLOAT else np.float64)
    try:
        got = onnx_run("MaxPool", xx, n_out=n_out, dtype=dtype, **attrs)[0]
        outcome[name] = "spec" if np.array_equal(got, want) else got.ravel().tolist()
    except Exception as exc:  # "padding values must be non-negative"
        outcome[name] = str(exc).split("Status Message: ")[-1].strip()
    print(f"target, {name}: {outcome[name]}")

if all(v == "spec" for v in outcome.values()):
    sys.exit(0)
raised = outcome["float32"] == "padding values must be non-negative"
late = outcome["float32 with Indices"] == [2.0] and outcome["float64"] == [2.0]
sys.exit(1 if raised and late else 2)
