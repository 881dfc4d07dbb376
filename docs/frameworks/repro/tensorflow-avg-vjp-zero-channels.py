"""tensorflow / avg-vjp-zero-channels: the float32 average gradient fails with C = 0.

GradientTape over avg_pool1d of a [1, 1, 0] (NWC) float32 input raises in oneDNN's
_MklNativeAvgPoolGrad; the spec's VJP is the empty array (as TensorFlow's float64 one).

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.zeros((1, 0, 1))  # NCW, no channel
t = tf.zeros((1, 1, 0), dtype=tf.float32)
try:
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = tf.nn.avg_pool1d(t, 1, 1, "VALID")
    got = tape.gradient(y, t).shape
except tf.errors.InvalidArgumentError as exc:
    got = f"rejected: {str(exc).split('}}')[-1][:80]}"
(want,) = spec.vjp("avg_pool", (x,), np.zeros((1, 0, 1)), kernel_size=1)
same = not isinstance(got, str)

print("target:", got)
print("spec:  ", want.shape)
sys.exit(0 if same else 1)
