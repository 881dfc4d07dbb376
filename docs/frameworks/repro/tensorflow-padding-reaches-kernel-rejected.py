"""tensorflow / padding-reaches-kernel-rejected: MaxPool's padding must be below the kernel.

max_pool1d over [1, 2] with ksize 2 and padding 2 on each side is rejected ("Left padding
2 needs to be smaller than the window size 2"); the spec computes it (windows of padding
only are -inf).

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([[[1.0, 2.0]]])  # NCW
t = tf.constant(np.transpose(x, (0, 2, 1)))
try:
    got = tf.nn.max_pool1d(t, 2, 1, [[0, 0], [2, 2], [0, 0]]).numpy().ravel()
except tf.errors.InvalidArgumentError as exc:
    got = f"rejected: {str(exc).split('}}')[-1][:80]}"
want = spec.max_pool(x, kernel_size=2, stride=1, padding=2).ravel()
same = not isinstance(got, str) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
