"""tensorflow / argmax-empty-input-rejected: tf.nn.max_pool_with_argmax rejects N = 0.

"tensor_in must not be empty", where max_pool2d and the spec return the empty result.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.zeros((0, 1, 2, 2))  # NCHW, no batch
t = tf.zeros((0, 2, 2, 1))
try:
    got = [a.shape for a in tf.nn.max_pool_with_argmax(t, 2, 2, "VALID")]
except tf.errors.InvalidArgumentError as exc:
    got = f"rejected: {str(exc).split('}}')[-1][:80]}"
want = [a.shape for a in spec.max_pool(x, kernel_size=(2, 2), return_indices=True)]
same = not isinstance(got, str)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
