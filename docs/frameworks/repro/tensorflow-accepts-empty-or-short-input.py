"""tensorflow / accepts-empty-or-short-input: an empty or too short input gives an empty output.

avg_pool1d of a [1, 0, 1] (NWC) input returns shape [1, 0, 1]; the spec rejects it (C7: a
spatial extent of 0).

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.zeros((1, 1, 0))  # NCW
try:
    got = tf.nn.avg_pool1d(tf.zeros((1, 0, 1)), 1, 1, "VALID").shape
except (ValueError, tf.errors.OpError) as exc:
    got = f"rejected: {exc}"
try:
    want = spec.avg_pool(x, kernel_size=1)
except ValueError as exc:
    want = f"rejected: {exc}"
same = isinstance(got, str)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
