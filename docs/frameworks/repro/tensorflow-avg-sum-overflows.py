"""tensorflow / avg-sum-overflows: the float16 average overflows in its window sum.

avg_pool1d over [32752, 24560, 32752] in float16 gives inf; the spec's mean 30021.33 rounds
to 30016.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([[[32752.0, 24560.0, 32752.0]]])  # NCW
t = tf.constant(np.transpose(x, (0, 2, 1)).astype(np.float16))
got = tf.nn.avg_pool1d(t, 3, 3, "VALID").numpy().astype(np.float64).ravel()
want = spec.avg_pool(x, kernel_size=3).astype(np.float16).astype(np.float64).ravel()
same = np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
