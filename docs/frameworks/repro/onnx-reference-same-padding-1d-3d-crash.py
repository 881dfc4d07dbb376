"""onnx-reference / same-padding-1d-3d-crash: 1-D and 3-D MaxPool with auto_pad SAME_UPPER /
SAME_LOWER and every stride and dilation 1 raises (IndexError in 1-D, ValueError in 3-D);
2-D, and strided or dilated MaxPool, are not affected.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while exactly that
holds (0: every case gives the spec's values; 2: another outcome)."""

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


rows = []  # (registered to raise, raised, equals the spec)
for d in (1, 2, 3):
    x = np.arange(4.0, 0.0, -1.0, dtype=np.float32).reshape((1, 1) + (1,) * (d - 1) + (4,))
    for auto_pad, padding in (("SAME_UPPER", "same"), ("SAME_LOWER", "same_lower")):
        for stride in (1, 2):
            k = [1] * (d - 1) + [2]
            s = [1] * (d - 1) + [stride]
            got = attempt("MaxPool", x, kernel_shape=k, strides=s, auto_pad=auto_pad)
            want = spec.max_pool(
                x.astype(np.float64), kernel_size=tuple(k), stride=tuple(s), padding=padding
            )
            raised = isinstance(got, str)
            same = not raised and np.array_equal(got[0], want)
            rows.append((d in (1, 3) and stride == 1, raised, same))
            shown = got if raised else got[0].ravel()
            print(f"{d}-D {auto_pad} stride {stride}: target {shown}; spec {want.ravel()}")

if all(same for _, _, same in rows):
    sys.exit(0)
# SAME_LOWER with stride 2 is max-same-lower-strided (a wrong value, not a raise)
sys.exit(1 if all(raised == registered for registered, raised, _ in rows) else 2)
