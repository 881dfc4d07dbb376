"""openvino / int32-computed-in-float32: a dilated int32 MaxPool rounds through float32.

int32 [588245967, 1, 5, 7], kernel 2, dilation 2, stride 1, gives [588245952, 7]
(588245967 rounded to float32); the spec gives [588245967, 7].

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14

from ndpool import spec

x = np.array([[[588245967, 1, 5, 7]]], dtype=np.int32)
param = opset14.parameter(list(x.shape), ov.Type.i32)
node = opset14.max_pool(param, [1], [2], [0], [0], [2], axis=2)  # strides, dilations, pads, kernel
compiled = ov.Core().compile_model(ov.Model(node.outputs()[:1], [param]), "CPU")
got = compiled(x)[compiled.outputs[0]].ravel()
want = spec.max_pool(x, kernel_size=2, stride=1, dilation=2).ravel()

print("target:", got)
print("spec:  ", want)
sys.exit(0 if np.array_equal(got, want) else 1)
