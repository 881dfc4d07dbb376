"""tensorflow / dilated-same-not-implemented: tf.nn.pool raises for "SAME" with dilations.

tf.nn.pool(x, [2], "MAX", padding="SAME", dilations=[2]) raises ValueError ("pooling with
'SAME' padding is not implemented for `dilation_rate` > 1"); the spec's "same" computes.

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
    got = tf.nn.pool(t, [2], "MAX", padding="SAME", dilations=[2]).numpy().ravel()
except ValueError as exc:
    got = f"rejected: {str(exc)[:90]}"
want = spec.max_pool(x, kernel_size=2, stride=1, padding="same", dilation=2).ravel()
same = not isinstance(got, str) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
