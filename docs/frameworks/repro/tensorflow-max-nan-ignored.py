"""tensorflow / max-nan-ignored: max pooling drops NaN: max over [nan, 1] is 1.

The value, the GradientTape gradient and the forward-mode JVP follow the largest number;
the spec propagates NaN (the first NaN is the selected cell).

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([[[np.nan, 1.0]]])  # NCW
t = tf.constant(np.transpose(x, (0, 2, 1)))
with tf.GradientTape() as tape:
    tape.watch(t)
    y = tf.nn.max_pool1d(t, ksize=2, strides=2, padding="VALID")
grad = tape.gradient(y, t).numpy().ravel()
want = spec.max_pool(x, kernel_size=2)
(want_grad,) = spec.vjp("max_pool", (x,), np.ones((1, 1, 1)), kernel_size=2)
got = y.numpy().ravel()
same = np.array_equal(got, want.ravel(), equal_nan=True) and np.array_equal(grad, want_grad.ravel())

print("target:", got, "gradient", grad)
print("spec:  ", want.ravel(), "gradient", want_grad.ravel())
sys.exit(0 if same else 1)
