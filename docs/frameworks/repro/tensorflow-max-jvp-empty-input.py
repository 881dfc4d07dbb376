"""tensorflow / max-jvp-empty-input: the forward-mode JVP of max pooling fails with C = 0.

ForwardAccumulator over max_pool1d of a [1, 5, 0] (NWC) input raises in MaxPoolGradGrad's
shape function; the forward call returns the empty result, as the spec does.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.zeros((1, 0, 5))  # NCW, no channel
t = tf.zeros((1, 5, 0), dtype=tf.float64)
try:
    with tf.autodiff.ForwardAccumulator(t, tf.zeros_like(t)) as acc:
        y = tf.nn.max_pool1d(t, ksize=2, strides=2, padding="VALID")
    got = acc.jvp(y).shape
except (ValueError, tf.errors.OpError) as exc:
    got = f"rejected: {type(exc).__name__}: {str(exc)[:90]}"
_, want = spec.jvp("max_pool", (x,), (x,), kernel_size=2)
same = not isinstance(got, str)

print("target:", got)
print("spec:  ", want.shape)
sys.exit(0 if same else 1)
