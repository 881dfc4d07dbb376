"""onnx-reference / max-pool-1d-3d-padding-crash: 1-D and 3-D MaxPool with explicit pads and
every stride and dilation 1 never pads the input: a begin pad raises IndexError, end pads
alone give too short an output; strided or dilated MaxPool pads right.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while exactly that
holds (0: the spec's values; 2: another outcome)."""

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
for d in (1, 3):
    lead = (1,) * (d - 1)
    x = np.array([0.0, 1.0, 2.0, 3.0], dtype=np.float32).reshape((1, 1) + lead + (4,))
    for name, pairs, stride in (
        ("pads 1, 1", (1, 1), 1),
        ("pads 0, 1 (end only)", (0, 1), 1),
        ("pads 1, 1, stride 2", (1, 1), 2),
    ):
        pads = [0] * (d - 1) + [pairs[0]] + [0] * (d - 1) + [pairs[1]]
        got = attempt(
            "MaxPool",
            x,
            kernel_shape=[1] * (d - 1) + [2],
            strides=[1] * (d - 1) + [stride],
            pads=pads,
        )
        want = spec.max_pool(
            x.astype(np.float64),
            kernel_size=lead + (2,),
            stride=lead + (stride,),
            padding=tuple([(0, 0)] * (d - 1) + [pairs]),
        )
        if isinstance(got, str):
            outcome[d, name] = got.split(":")[0]
        else:
            got = got[0]
            outcome[d, name] = "spec" if np.array_equal(got, want) else f"shape {got.shape}"
        print(
            f"{d}-D {name}: target {got if isinstance(got, str) else got.ravel()}; "
            f"spec {want.ravel()}"
        )

expected = {"pads 1, 1": "IndexError", "pads 1, 1, stride 2": "spec"}
if all(v == "spec" for v in outcome.values()):
    sys.exit(0)
registered = all(
    v == expected[name] if name in expected else v.startswith("shape")
    for (_, name), v in outcome.items()
)
sys.exit(1 if registered else 2)
