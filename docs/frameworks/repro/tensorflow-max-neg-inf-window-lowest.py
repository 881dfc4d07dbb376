"""tensorflow / max-neg-inf-window-lowest: a float32 window of -inf gives the lowest finite value.

max_pool1d over [-inf, -inf] gives -3.4028235e+38, and its JVP is 0; the spec gives -inf and
the first cell's tangent.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([[[-np.inf, -np.inf]]])  # NCW
t = tf.constant(np.transpose(x, (0, 2, 1)).astype(np.float32))
tangent = tf.constant(np.array([[[2.0], [3.0]]], dtype=np.float32))
with tf.autodiff.ForwardAccumulator(t, tangent) as acc:
    y = tf.nn.max_pool1d(t, ksize=2, strides=2, padding="VALID")
got, got_dot = y.numpy().ravel(), acc.jvp(y).numpy().ravel()
want, want_dot = spec.jvp("max_pool", (x,), (np.array([[[2.0, 3.0]]]),), kernel_size=2)
same = np.array_equal(got, want.ravel()) and np.array_equal(got_dot, want_dot.ravel())

print("target:", got, "JVP", got_dot)
print("spec:  ", want.ravel(), "JVP", want_dot.ravel())
sys.exit(0 if same else 1)
