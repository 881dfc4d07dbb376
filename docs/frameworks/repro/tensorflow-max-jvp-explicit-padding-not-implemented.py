"""tensorflow / max-jvp-explicit-padding-not-implemented: no forward-mode JVP of max pooling with
explicit padding.

ForwardAccumulator over max_pool1d with padding [[0, 0], [1, 1], [0, 0]] raises
(MaxPoolGradGrad takes "SAME" / "VALID" only); the forward call and GradientTape compute.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([[[1.0, 3.0, 2.0]]])  # NCW
v = np.array([[[1.0, 2.0, 4.0]]])
t = tf.constant(np.transpose(x, (0, 2, 1)))
try:
    with tf.autodiff.ForwardAccumulator(t, tf.constant(np.transpose(v, (0, 2, 1)))) as acc:
        y = tf.nn.max_pool1d(t, 2, 1, [[0, 0], [1, 1], [0, 0]])
    got = acc.jvp(y).numpy().ravel()
except (ValueError, tf.errors.OpError) as exc:
    got = f"rejected: {type(exc).__name__}: {str(exc)[:90]}"
_, want = spec.jvp("max_pool", (x,), (v,), kernel_size=2, stride=1, padding=1)
same = not isinstance(got, str) and np.array_equal(got, want.ravel())

print("target:", got)
print("spec:  ", want.ravel())
sys.exit(0 if same else 1)
