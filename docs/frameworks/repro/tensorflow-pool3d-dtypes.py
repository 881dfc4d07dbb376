"""tensorflow / pool3d-dtypes: 3-D pooling has no float16, float64 or integer CPU kernel.

MaxPool3D's op definition allows half, bfloat16 and float only; MaxPool3D (float16) and
AvgPool3D (float16, float64) have no CPU kernel. max_pool2d computes in all of them.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.arange(8.0).reshape((1, 1, 2, 2, 2))  # NCDHW
want = spec.max_pool(x, kernel_size=(2, 2, 2))
want_avg = spec.avg_pool(x, kernel_size=(2, 2, 2))
same = True
calls = {"max_pool3d": (tf.nn.max_pool3d, want), "avg_pool3d": (tf.nn.avg_pool3d, want_avg)}
for name, (fn, ref) in calls.items():
    for dtype in ("float16", "float64", "int32"):
        if name == "avg_pool3d" and dtype == "int32":
            continue  # the spec's average takes floats only
        t = tf.constant(np.transpose(x, (0, 2, 3, 4, 1)).astype(dtype))
        try:
            got = np.asarray(fn(t, ksize=2, strides=2, padding="VALID")).ravel()
        except (tf.errors.OpError, TypeError, ValueError) as exc:
            got = f"rejected: {type(exc).__name__}: {str(exc).splitlines()[0][:90]}"
        ok = not isinstance(got, str) and np.array_equal(got, ref.ravel())
        same = same and ok
        print(f"target {name} {dtype}:", got)
        print(f"spec   {name}:", ref.ravel())
sys.exit(0 if same else 1)
