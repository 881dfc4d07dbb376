"""onnx-reference / lp-ceil-partial-window-rescaled:
the ceil_mode edge window of LpPool is rescaled.

A deviation (registered in conformance/targets/deviations/onnx-reference.toml): the spec can
express it as partial_window="rescaled", but the ONNX operator text gives the Lp norm of the
window's cells and the evaluator's own comment calls it a difference to fix. Exits 1 while
the reference differs from the spec's default and equals the spec under that option (0: the
default; 2: neither)."""

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


x = np.array([[[3.0, 4.0, 5.0]]], dtype=np.float32)
got = onnx_run("LpPool", x, kernel_shape=[2], strides=[2], ceil_mode=1, p=2)[0]
cfg = dict(kernel_size=2, stride=2, ceil_mode=True)
default = spec.lp_pool(x.astype(np.float64), np.array(2.0), **cfg)
named = spec.lp_pool(x.astype(np.float64), np.array(2.0), partial_window="rescaled", **cfg)

print("target:                              ", got)
print("spec (default, 'sum'):               ", default)
print("spec (partial_window='rescaled'):    ", named)
sys.exit(0 if np.allclose(got, default) else 1 if np.allclose(got, named) else 2)
