"""onnx-reference / max-nan: MaxPool with every stride and dilation 1 drops NaN ([1, NaN] -> 1)
and raises on a window of NaN only; the strided / dilated loops keep a NaN only when it is
the window's first cell.

Registered in conformance/targets/deviations/onnx-reference.toml. Exits 1 while exactly that
holds (0: NaN propagates as in the spec; 2: another outcome)."""

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


nan = np.nan
expected = {  # (window, stride): what the registered behaviour gives
    ((1.0, nan), 1): "1.0",
    ((nan, 1.0), 1): "1.0",
    ((nan, nan), 1): "ValueError",
    ((1.0, nan), 2): "1.0",
    ((nan, 1.0), 2): "nan",
    ((nan, nan), 2): "nan",
}
seen, spec_like = {}, []
for window, stride in expected:
    x = np.array([[window]], dtype=np.float32)
    got = attempt("MaxPool", x, kernel_shape=[2], strides=[stride])
    want = spec.max_pool(x.astype(np.float64), kernel_size=2, stride=stride)
    seen[window, stride] = got.split(":")[0] if isinstance(got, str) else str(got[0].ravel()[0])
    spec_like.append(not isinstance(got, str) and np.array_equal(got[0], want, equal_nan=True))
    print(f"{list(window)}, stride {stride}: target {seen[window, stride]}; spec {want.ravel()}")

sys.exit(0 if all(spec_like) else 1 if seen == expected else 2)
