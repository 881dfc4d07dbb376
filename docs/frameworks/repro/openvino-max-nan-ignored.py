"""openvino / max-nan-ignored: MaxPool never propagates a NaN: max over [nan, 1] is 1 (index 1),
and a window of NaN only gives -inf (float16) or the lowest float32 (float32).

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14

from ndpool import spec


def ov_max_pool(x, kernel, indices):
    """A MaxPool-14 node (stride = kernel, no padding) on the CPU plugin, in x's precision."""
    element = {np.float16: ov.Type.f16, np.float32: ov.Type.f32}[x.dtype.type]
    param = opset14.parameter(list(x.shape), element)
    node = opset14.max_pool(param, kernel, [1], [0], [0], kernel, axis=2)
    outputs = node.outputs() if indices else [node.output(0)]
    hint = {"INFERENCE_PRECISION_HINT": element}
    compiled = ov.Core().compile_model(ov.Model(outputs, [param]), "CPU", hint)
    result = compiled(x)
    return [result[o] for o in compiled.outputs]


x = np.array([[[np.nan, 1.0, np.nan, np.nan]]])
want, want_idx = spec.max_pool(x, kernel_size=2, return_indices=True)
print("x:", x.ravel())
print("spec:", want.ravel(), want_idx.ravel())
differs = []
for dtype in (np.float16, np.float32):
    for indices in (False, True):
        got = ov_max_pool(x.astype(dtype), [2], indices)
        print(
            f"target {dtype.__name__}{' with indices' if indices else ''}:",
            *[g.ravel() for g in got],
        )
        differs.append(not np.isnan(got[0]).all())
sys.exit(1 if all(differs) else 0)
