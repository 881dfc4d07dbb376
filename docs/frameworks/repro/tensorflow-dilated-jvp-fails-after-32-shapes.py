"""tensorflow / dilated-jvp-fails-after-32-shapes: dilated JVPs fail after 32 traced shapes.

ForwardAccumulator over tf.nn.pool with dilations works in a fresh process; after the JVPs
of 40 inputs of other shapes (1-D, 2-D and 3-D) forwardprop traces with relaxed shapes and
BatchToSpaceND raises "block_shape must have known size". The spec's JVP of the last case
is the tangent itself (window 1).

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec


def dilated_jvp(shape):
    d = len(shape) - 2
    x = tf.zeros(shape)
    with tf.autodiff.ForwardAccumulator(x, tf.ones_like(x)) as acc:
        y = tf.nn.pool(x, [1] * d, "AVG", padding="VALID", dilations=[2] * d)
    return acc.jvp(y).numpy()


for n in range(3, 17):
    for shape in ((1, n, 1), (1, n, 3, 1), (1, 2, n, 2, 1)):
        try:
            dilated_jvp(shape)
        except ValueError:
            pass
try:
    got = dilated_jvp((1, 19, 1)).ravel()  # NWC, a shape not seen before
except ValueError as exc:
    got = f"rejected: {str(exc)[:80]}"
x = np.zeros((1, 1, 19))
_, want = spec.jvp("avg_pool", (x,), (np.ones_like(x),), kernel_size=1, stride=1, dilation=2)
same = not isinstance(got, str) and np.array_equal(got, want.ravel())

print("target:", got)
print("spec:  ", want.ravel())
sys.exit(0 if same else 1)
