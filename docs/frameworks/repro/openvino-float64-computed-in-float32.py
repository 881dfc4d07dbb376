"""openvino / float64-computed-in-float32: the CPU plugin accepts a float64 model and returns
float64, but computes in float32 (it inserts a Convert to f32 whatever the precision hint):
the average of [1, 2, 2] is 1.6666666269302368, not 1.6666666666666667; +inf and 1e300
saturate to 3.4028234663852886e38.

Registered in conformance/targets/deviations/openvino.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import openvino as ov
from openvino import opset14, opset16

from ndpool import spec

x = np.array([[[1.0, 2.0, 2.0, 1e300, np.inf, 0.0]]])
param = opset14.parameter(list(x.shape), ov.Type.f64)
avg = opset16.avg_pool(param, [3], [0], [0], [3], False, dilations=[1])
mx = opset14.max_pool(param, [3], [1], [0], [0], [3])
compiled = ov.Core().compile_model(
    ov.Model([avg.output(0), mx.output(0)], [param]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
)
result = compiled(x)
got_avg, got_max = (result[o] for o in compiled.outputs)
want_avg = spec.avg_pool(x, kernel_size=3)
want_max = spec.max_pool(x, kernel_size=3)

print("target avg:", got_avg.dtype, got_avg.ravel().tolist())
print("spec avg:  ", want_avg.ravel().tolist())
print("target max:", got_max.dtype, got_max.ravel().tolist())
print("spec max:  ", want_max.ravel().tolist())
same = np.array_equal(got_avg, want_avg) and np.array_equal(got_max, want_max)
sys.exit(0 if same else 1)
