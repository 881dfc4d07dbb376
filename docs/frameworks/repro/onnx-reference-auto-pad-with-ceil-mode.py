"""onnx-reference / auto-pad-with-ceil-mode: AveragePool and LpPool with ceil_mode and any
auto_pad (VALID, SAME_UPPER, SAME_LOWER) raise ("ceil_mode is not supported with auto_pad").

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while both raise
for every auto_pad (0: the spec's values; 2: another outcome). MaxPool with VALID and
ceil_mode: max-valid-ceil-mode-floor."""

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
outcome = []
for auto_pad, padding in (("VALID", "valid"), ("SAME_UPPER", "same"), ("SAME_LOWER", "same_lower")):
    cfg = dict(kernel_size=2, stride=2, padding=padding, ceil_mode=True)
    for op, extra, want in (
        ("AveragePool", {}, spec.avg_pool(x.astype(np.float64), **cfg)),
        ("LpPool", {"p": 1}, spec.lp_pool(x.astype(np.float64), 1.0, **cfg)),
    ):
        got = attempt(op, x, kernel_shape=[2], strides=[2], auto_pad=auto_pad, ceil_mode=1, **extra)
        if isinstance(got, str):
            outcome.append("raised" if "ceil_mode is not supported" in got else got)
        else:
            outcome.append("spec" if np.allclose(got[0], want) else got[0].ravel().tolist())
        print(
            f"{op} {auto_pad}: target {got if isinstance(got, str) else got[0].ravel()}; "
            f"spec {want.ravel()}"
        )

sys.exit(
    0 if all(v == "spec" for v in outcome) else 1 if all(v == "raised" for v in outcome) else 2
)
