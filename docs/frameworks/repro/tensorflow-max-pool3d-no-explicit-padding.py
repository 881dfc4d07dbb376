"""tensorflow / max-pool3d-no-explicit-padding: tf.nn.max_pool3d takes "SAME" / "VALID" only.

An explicit padding list is a TypeError ("Expected string for argument 'padding'");
max_pool1d / max_pool2d take one, and the spec computes it.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.arange(1.0, 4.0).reshape((1, 1, 1, 1, 3))  # NCDHW
t = tf.constant(np.transpose(x, (0, 2, 3, 4, 1)).astype(np.float32))
pads = [[0, 0], [0, 0], [0, 0], [1, 1], [0, 0]]
try:
    got = tf.nn.max_pool3d(t, (1, 1, 2), 1, pads).numpy().ravel()
except TypeError as exc:
    got = f"rejected: {str(exc)[:90]}"
want = spec.max_pool(x, kernel_size=(1, 1, 2), stride=1, padding=(0, 0, 1)).ravel()
same = not isinstance(got, str) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
