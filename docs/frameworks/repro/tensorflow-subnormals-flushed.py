"""tensorflow / subnormals-flushed: the CPU kernels flush subnormals to zero.

The float64 max over [5e-324, 0] is 0; the spec's is 5e-324.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = np.array([[[5e-324, 0.0]]])  # NCW
got = tf.nn.max_pool1d(tf.constant(np.transpose(x, (0, 2, 1))), 2, 2, "VALID").numpy().ravel()
want = spec.max_pool(x, kernel_size=2).ravel()
same = np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
