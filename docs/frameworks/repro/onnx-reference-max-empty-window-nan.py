"""onnx-reference / max-empty-window-nan: a dilated window of padding only is NaN in 1-D and
3-D (a running max left at None, written into the float output) and 0 in 2-D (the window is
skipped, the output keeps its initial zero); the 3-D index is -1 per axis, flattened (-3).

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while exactly that
holds (0: the spec's -inf and index -1; 2: another outcome)."""

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


def attempt(op, x, **attrs):
    """The node's outputs, or the exception's type and first line."""
    try:
        return onnx_run(op, x, **attrs)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}"


seen, expected = {}, {1: ("nan", -1), 2: ("0.0", -1), 3: ("nan", -3)}
for d in (1, 2, 3):
    x = np.array([5.0], dtype=np.float32).reshape((1, 1) + (1,) * d)  # every window is padding
    got, idx = onnx_run(
        "MaxPool",
        x,
        n_out=2,
        kernel_shape=[2] * d,
        dilations=[2] * d,
        strides=[1] * d,
        pads=[1] * (2 * d),
    )
    want, want_idx = spec.max_pool(
        x.astype(np.float64), kernel_size=2, dilation=2, stride=1, padding=1, return_indices=True
    )
    seen[d] = (str(got.ravel()[0]), int(idx.ravel()[0]))
    print(f"{d}-D: target {seen[d]}; spec ({want.ravel()[0]}, {int(np.ravel(want_idx)[0])})")

spec_like = all(v == ("-inf", -1) for v in seen.values())
sys.exit(0 if spec_like else 1 if seen == expected else 2)
