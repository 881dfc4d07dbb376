"""onnx-reference / max-valid-ceil-mode-floor: MaxPool with auto_pad VALID and ceil_mode sizes
the output ceil((L - eff + 1) / stride) (the ONNX operator text's VALID formula, the floor-mode
size), so the partial last window is dropped: [2, 1, 0], kernel 2, stride 2 gives [2], the
spec (and ONNX Runtime) [2, 0].

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while the difference
exists (0: the spec's output; 2: another outcome)."""

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


x = np.array([[[2.0, 1.0, 0.0]]], dtype=np.float32)
got = onnx_run("MaxPool", x, kernel_shape=[2], strides=[2], auto_pad="VALID", ceil_mode=1)[0]
want = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=2, padding="valid", ceil_mode=True)
floor = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=2, padding="valid")

print("target:          ", got.ravel())
print("spec:            ", want.ravel())
print("spec, floor mode:", floor.ravel())
if got.shape == want.shape and np.array_equal(got, want):
    sys.exit(0)
sys.exit(1 if got.shape == floor.shape and np.array_equal(got, floor) else 2)
