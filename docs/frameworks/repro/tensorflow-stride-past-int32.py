"""tensorflow / stride-past-int32: strides are int32 attributes.

max_pool1d with a stride of 2**31 is rejected ("out of bounds for an int32 attr"); the
spec takes it (one window, at 0).

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
    got = tf.nn.max_pool1d(t, 1, 2**31, "VALID").numpy().ravel()
except (tf.errors.InvalidArgumentError, ValueError, TypeError) as exc:
    got = f"rejected: {type(exc).__name__}: {str(exc).split('}}')[-1][:80]}"
want = spec.max_pool(x, kernel_size=1, stride=2**31).ravel()
same = not isinstance(got, str) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
