"""tensorflow / argmax-no-explicit-padding: tf.nn.max_pool_with_argmax takes "SAME" / "VALID" only.

An explicit padding list is a TypeError; the spec computes it.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([1.0, 3.0, 2.0]).reshape((1, 1, 1, 3))  # NCHW
t = tf.constant(np.transpose(x, (0, 2, 3, 1)))
try:
    out = tf.nn.max_pool_with_argmax(t, (1, 2), 1, [[0, 0], [0, 0], [1, 1], [0, 0]])
    got = [a.numpy().ravel() for a in out]
except (TypeError, ValueError) as exc:
    got = f"rejected: {type(exc).__name__}: {str(exc)[:90]}"
want = spec.max_pool(x, kernel_size=(1, 2), stride=1, padding=(0, 1), return_indices=True)
same = not isinstance(got, str)

print("target:", got)
print("spec:  ", [a.ravel() for a in want])
sys.exit(0 if same else 1)
