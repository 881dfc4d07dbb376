"""onnxruntime / avg-lp-same-padding-negative: AveragePool and LpPool with a negative SAME
padding start every window late: L = 3, kernel 1, stride 3, SAME_UPPER gives x[1], not x[0].

Registered in conformance/targets/deviations/onnxruntime.toml. Exits 1 while the difference
exists (0: the spec's values; 2: another outcome)."""

import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from ndpool import spec


def onnx_run(op, x, **attrs):
    outs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)]
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))
    model = helper.make_model(
        helper.make_graph([node], "g", [x_info], outs),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString()).run(None, {"X": x})


# ONNX's SAME padding (ceil(L/s) - 1) * s + kernel - L: L = 3 and 4, kernel 1, stride = L:
# -2 and -3. ONNX Runtime puts total / 2 (SAME_UPPER) or (total + 1) / 2 (SAME_LOWER),
# truncated, at the beginning: SAME_UPPER -1 for both, SAME_LOWER 0 for -2, -1 for -3; a
# negative begin pad moves each window's start right. The spec pads 0: x[0].
cases = [
    (3, "SAME_UPPER", "same"),
    (4, "SAME_UPPER", "same"),
    (3, "SAME_LOWER", "same_lower"),
    (4, "SAME_LOWER", "same_lower"),
]
shifted, right, other = [], [], []
for op, extra in (("AveragePool", {}), ("LpPool", {"p": 1})):
    for length, auto_pad, padding in cases:
        x = np.arange(1.0, length + 1.0, dtype=np.float32).reshape(1, 1, length)
        (got,) = onnx_run(op, x, kernel_shape=[1], strides=[length], auto_pad=auto_pad, **extra)
        cfg = dict(kernel_size=1, stride=length, padding=padding)
        x64 = x.astype(np.float64)
        want = spec.avg_pool(x64, **cfg) if op == "AveragePool" else spec.lp_pool(x64, 1.0, **cfg)
        total = (-(-length // length) - 1) * length + 1 - length
        head = int(total / 2) if auto_pad == "SAME_UPPER" else int((total + 1) / 2)
        print(
            f"{op} {auto_pad} L={length} (total {total}, begin {head}): target {got.ravel()}, "
            f"spec {want.ravel()}"
        )
        if np.array_equal(got, want):
            right.append(head)
        elif head < 0 and got.ravel()[0] == x.ravel()[-head]:
            shifted.append(head)
        else:
            other.append(head)

if not shifted and not other:
    sys.exit(0)
# the registered difference: wrong exactly where the begin pad is negative, by that shift
sys.exit(1 if not other and all(h < 0 for h in shifted) and all(h >= 0 for h in right) else 2)
