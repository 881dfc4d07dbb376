"""onnx-reference / max-indices-misplaced: 2-D MaxPool with every stride and dilation 1 turns
the window's flat argmax into coordinates with the OUTPUT shape instead of the kernel shape
(_get_indices(arg, out_shape)), and under auto_pad SAME does not subtract the SAME begin
padding, so Indices point at the wrong cell: 3 x 4 input, kernel 2, stride 1: the max of
window (0, 0) is cell 5, Indices say 4; 3 x 1 input, kernel (3, 1), SAME_UPPER: [1, 2, 2]
comes out [2, 3, 3].

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while the difference
exists (0: the spec's indices; 2: another outcome)."""

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


x = np.arange(12.0, dtype=np.float32).reshape(1, 1, 3, 4)  # the max is each window's last cell
_, got = onnx_run("MaxPool", x, n_out=2, kernel_shape=[2, 2], strides=[1, 1], storage_order=0)
_, want = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=1, return_indices=True)
# window (i, j) starts at cell 4 i + j; its argmax 3 unravels in the kernel (2, 2) to (1, 1),
# in the output shape (2, 3) to (1, 0): cell 4 (i + 1) + j instead of 4 (i + 1) + j + 1
misread = want - 1
# the strided loop (stride 2) and 1-D are right
# SAME_UPPER, kernel (3, 1) on a 3 x 1 input: kernel and output unravel alike, but the
# begin padding of 1 is not subtracted
y = np.arange(1.0, 4.0, dtype=np.float32).reshape(1, 1, 3, 1)
_, same = onnx_run(
    "MaxPool", y, n_out=2, kernel_shape=[3, 1], strides=[1, 1], auto_pad="SAME_UPPER"
)
_, same_want = spec.max_pool(
    y.astype(np.float64), kernel_size=(3, 1), stride=1, padding="same", return_indices=True
)
_, strided = onnx_run("MaxPool", x, n_out=2, kernel_shape=[2, 2], strides=[2, 2], storage_order=0)
_, strided_want = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=2, return_indices=True)

print("stride 1: target", got.ravel(), "; spec", np.ravel(want))
print("SAME_UPPER: target", same.ravel(), "; spec", np.ravel(same_want))
print("stride 2: target", strided.ravel(), "; spec", np.ravel(strided_want))
if np.array_equal(got, want) and np.array_equal(same, same_want):
    sys.exit(0)
registered = np.array_equal(got, misread) and np.array_equal(same, same_want + 1)
sys.exit(1 if registered and np.array_equal(strided, strided_want) else 2)
