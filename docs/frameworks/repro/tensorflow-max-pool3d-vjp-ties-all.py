"""tensorflow / max-pool3d-vjp-ties-all: the 3-D max pool gradient goes to every tied maximum.

max_pool3d over [0, 3, 3] (kernel (1, 1, 3)): GradientTape gives [0, 1, 1], the spec (and
max_pool1d / max_pool2d) [0, 1, 0].

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([0.0, 3.0, 3.0]).reshape((1, 1, 1, 1, 3))  # NCDHW
t = tf.constant(np.transpose(x, (0, 2, 3, 4, 1)).astype(np.float32))
with tf.GradientTape() as tape:
    tape.watch(t)
    y = tf.nn.max_pool3d(t, ksize=(1, 1, 3), strides=(1, 1, 3), padding="VALID")
got = tape.gradient(y, t).numpy().ravel()
(want,) = spec.vjp("max_pool", (x,), np.ones((1, 1, 1, 1, 1)), kernel_size=(1, 1, 3))
same = np.array_equal(got, want.ravel())

print("target:", got)
print("spec:  ", want.ravel())
sys.exit(0 if same else 1)
