"""onnx-reference / max-pads-misread-2d: 2-D MaxPool with every stride and dilation 1 reads
ONNX's pads [b0, b1, e0, e1] as (top, bottom, left, right), so pads whose b1 != e0 pad the
wrong sides: pads 1 on rows only ([1, 0, 1, 0]) pad rows (1, 0) and columns (1, 0).

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


x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=np.float32)
got = onnx_run("MaxPool", x, kernel_shape=[2, 2], strides=[1, 1], pads=[1, 0, 1, 0])[0]
want = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=1, padding=(1, 0))
# the misreading: rows padded (1, 0), columns (1, 0), NaN padding dropped from each window
misread = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
equal_pads = onnx_run("MaxPool", x, kernel_shape=[2, 2], strides=[1, 1], pads=[1, 1, 1, 1])[0]
equal_want = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=1, padding=1)

print("pads [1, 0, 1, 0]: target", got.shape, got.ravel(), "; spec", want.shape, want.ravel())
print("pads [1, 1, 1, 1]: target", equal_pads.ravel(), "; spec", equal_want.ravel())
if got.shape == want.shape and np.array_equal(got, want):
    sys.exit(0)
ok_equal = np.array_equal(equal_pads, equal_want)
sys.exit(1 if ok_equal and got.shape == misread.shape and np.array_equal(got, misread) else 2)
