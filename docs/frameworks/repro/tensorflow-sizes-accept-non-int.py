"""tensorflow / sizes-accept-non-int: sizes accept floats and bools.

max_pool1d with ksize=2.0 pools as ksize 2; the spec rejects it (C2).

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
    got = tf.nn.max_pool1d(t, 2.0, 2, "VALID").numpy().ravel()
except (TypeError, ValueError) as exc:
    got = f"rejected: {exc}"
try:
    want = spec.max_pool(x, kernel_size=2.0)
except ValueError as exc:
    want = f"rejected: {exc}"
same = isinstance(got, str)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
