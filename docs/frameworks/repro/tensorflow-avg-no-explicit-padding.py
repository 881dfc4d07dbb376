"""tensorflow / avg-no-explicit-padding: tf.nn.avg_pool1d/2d/3d take "SAME" / "VALID" only.

An explicit padding list is a TypeError ("Expected string for argument 'padding'"); the
spec computes it.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([[[1.0, 2.0, 3.0]]])  # NCW
t = tf.constant(np.transpose(x, (0, 2, 1)))
try:
    got = tf.nn.avg_pool1d(t, 2, 1, [[0, 0], [1, 1], [0, 0]]).numpy().ravel()
except TypeError as exc:
    got = f"rejected: {str(exc)[:90]}"
want = spec.avg_pool(x, kernel_size=2, stride=1, padding=1, count_include_pad=False).ravel()
same = not isinstance(got, str) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
