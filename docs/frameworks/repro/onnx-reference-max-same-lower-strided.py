"""onnx-reference / max-same-lower-strided: MaxPool with auto_pad SAME_LOWER and some stride
or dilation > 1 (the evaluator's per-dimension loops, 1-D, 2-D and 3-D alike) sizes the
output floor(L / stride) and splits the padding as SAME_UPPER does (smaller half first).

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while the difference
exists in every rank (0: the spec's values and shapes; 2: a mix)."""

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


verdicts = []
for d in (1, 2, 3):
    lead = (1,) * (d - 1)
    # L = 1, kernel 2, stride 2: ceil(1/2) = 1 cell; the loops give floor(1/2) = 0 cells
    x = np.ones((1, 1) + lead + (1,), dtype=np.float32)
    got = onnx_run(
        "MaxPool",
        x,
        kernel_shape=[1] * (d - 1) + [2],
        strides=[1] * (d - 1) + [2],
        auto_pad="SAME_LOWER",
    )[0]
    want = spec.max_pool(
        x.astype(np.float64), kernel_size=lead + (2,), stride=lead + (2,), padding="same_lower"
    )
    short = got.shape != want.shape
    # [1, 2, 3], kernel 2, dilation 3, stride 1: total padding 3; SAME_LOWER puts 2 first
    # (windows read cells {-2, 1}, {-1, 2}, {0, 3}: [2, 3, 1]), the loops put 1 first
    # ({-1, 2}, {0, 3}, {1, 4}: [3, 1, 2]).
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32).reshape((1, 1) + lead + (3,))
    got2 = onnx_run(
        "MaxPool",
        x,
        kernel_shape=[1] * (d - 1) + [2],
        dilations=[1] * (d - 1) + [3],
        strides=[1] * d,
        auto_pad="SAME_LOWER",
    )[0]
    want2 = spec.max_pool(
        x.astype(np.float64),
        kernel_size=lead + (2,),
        dilation=lead + (3,),
        stride=1,
        padding="same_lower",
    )
    split = not np.array_equal(got2, want2)
    print(
        f"{d}-D L=1 k=2 s=2: target shape {got.shape}, spec {want.shape}; "
        f"k=2 dil=3 s=1 on [1, 2, 3]: target {got2.ravel()}, spec {want2.ravel()}"
    )
    verdicts += [short, split]

sys.exit(1 if all(verdicts) else 0 if not any(verdicts) else 2)
