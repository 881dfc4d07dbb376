"""tensorflow / dilated-explicit-padding-1d-3d: tf.nn.pool's explicit padding is 2-D only.

A 1-D tf.nn.pool with dilations and padding [[0, 0], [1, 1], [0, 0]] raises ValueError
("When padding is a list, it must be of size 4"); the spec computes it.

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
    got = tf.nn.pool(t, [2], "MAX", padding=[[0, 0], [1, 1], [0, 0]], dilations=[2])
    got = got.numpy().ravel()
except ValueError as exc:
    got = f"rejected: {str(exc)[:90]}"
want = spec.max_pool(x, kernel_size=2, stride=1, padding=1, dilation=2).ravel()
same = not isinstance(got, str) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
