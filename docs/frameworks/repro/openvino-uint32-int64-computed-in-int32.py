"""openvino / uint32-int64-computed-in-int32: uint32 and int64 MaxPool wrap through int32.

uint32 [4294967295, 3], kernel 2, gives 3 (4294967295 is -1 as an int32); int64
[2**31 + 5, 3] gives 3. The spec's max is exact in the input's dtype.

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14

from ndpool import spec

differs = False
for x, t in (
    (np.array([[[4294967295, 3]]], dtype=np.uint32), ov.Type.u32),
    (np.array([[[2**31 + 5, 3]]], dtype=np.int64), ov.Type.i64),
):
    param = opset14.parameter(list(x.shape), t)
    node = opset14.max_pool(param, [1], [1], [0], [0], [2], axis=2)
    compiled = ov.Core().compile_model(ov.Model(node.outputs()[:1], [param]), "CPU")
    got = compiled(x)[compiled.outputs[0]].ravel()
    want = spec.max_pool(x, kernel_size=2, stride=1).ravel()
    print(x.dtype, "target:", got, "spec:", want)
    differs |= not np.array_equal(got, want)
sys.exit(1 if differs else 0)
