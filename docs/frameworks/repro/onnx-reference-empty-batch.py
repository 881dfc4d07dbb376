"""onnx-reference / empty-batch: GlobalAveragePool raises ZeroDivisionError on an empty input
(N = 0 or C = 0: np.average over no rows); the other pooling nodes handle N = 0.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while exactly that
holds (0: the spec's empty outputs everywhere; 2: another outcome)."""

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


outcome = {}
for name, shape in (("N = 0", (0, 2, 3, 3)), ("C = 0", (1, 0, 3, 3))):
    x = np.zeros(shape, dtype=np.float32)
    for op, attrs, want in (
        ("GlobalAveragePool", {}, spec.adaptive_avg_pool(x, output_size=1)),
        ("GlobalMaxPool", {}, spec.adaptive_max_pool(x, output_size=1)),
        (
            "AveragePool",
            dict(kernel_shape=[2, 2], strides=[1, 1]),
            spec.avg_pool(x, kernel_size=2, stride=1),
        ),
        ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2]), spec.max_pool(x, kernel_size=2)),
    ):
        got = attempt(op, x, **attrs)
        got = got if isinstance(got, str) else got[0].shape
        outcome[name, op] = "spec" if got == np.shape(want) else got
        print(f"{name} {op}: target {got}; spec shape {np.shape(want)}")

if all(v == "spec" for v in outcome.values()):
    sys.exit(0)
registered = all(
    str(v).startswith("ZeroDivisionError") if op == "GlobalAveragePool" else v == "spec"
    for (_, op), v in outcome.items()
)
sys.exit(1 if registered else 2)
