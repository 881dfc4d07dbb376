"""tensorflow / argmax-2d-only: tf.nn.max_pool_with_argmax is 2-D only.

A 1-D (NWC) input is rejected; the spec returns values and indices for any rank.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([[[1.0, 3.0, 2.0, 0.0]]])  # NCW
t = tf.constant(np.transpose(x, (0, 2, 1)))
try:
    got = [a.numpy().ravel() for a in tf.nn.max_pool_with_argmax(t, 2, 2, "VALID")]
except (ValueError, tf.errors.OpError) as exc:
    got = f"rejected: {type(exc).__name__}: {str(exc).split('}}')[-1][:80]}"
want = [a.ravel() for a in spec.max_pool(x, kernel_size=2, return_indices=True)]
same = not isinstance(got, str)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
