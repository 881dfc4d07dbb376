"""tensorflow / dilated-strided-not-implemented: tf.nn.pool raises for a dilation with a stride.

tf.nn.pool(x, [2], "MAX", strides=[2], dilations=[2]) raises ValueError ("`strides > 1` not
supported in conjunction with `dilation_rate > 1`"); the spec pools with both.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([[[1.0, 5.0, 2.0, 4.0, 3.0]]])  # NCW
t = tf.constant(np.transpose(x, (0, 2, 1)))
try:
    got = tf.nn.pool(t, [2], "MAX", strides=[2], padding="VALID", dilations=[2]).numpy().ravel()
except ValueError as exc:
    got = f"rejected: {str(exc)[:90]}"
want = spec.max_pool(x, kernel_size=2, stride=2, dilation=2).ravel()
same = not isinstance(got, str) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
