"""tensorflow / dilated-explicit-padding-zero-filled: tf.nn.pool with dilations and explicit padding
pools the padding as zeros.

x = [[-1, -1]] (one channel, NHWC [1, 1, 2, 1]), window (1, 2), dilations (1, 2), padding
[[0, 0], [0, 0], [1, 1], [0, 0]]: MAX gives [0, 0] and AVG [-0.5, -0.5]; the spec gives
[-1, -1] for both (the padding is absent for max, not counted by TensorFlow's average:
count_include_pad=False).

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

x = -np.ones((1, 1, 1, 2))  # NCHW
t = tf.constant(np.transpose(x, (0, 2, 3, 1)))
pads = [[0, 0], [0, 0], [1, 1], [0, 0]]
got_max = tf.nn.pool(t, [1, 2], "MAX", padding=pads, dilations=[1, 2]).numpy().ravel()
got_avg = tf.nn.pool(t, [1, 2], "AVG", padding=pads, dilations=[1, 2]).numpy().ravel()
cfg = {"kernel_size": (1, 2), "stride": 1, "padding": ((0, 0), (1, 1)), "dilation": (1, 2)}
want_max = spec.max_pool(x, **cfg).ravel()
want_avg = spec.avg_pool(x, **cfg, count_include_pad=False).ravel()
same = np.array_equal(got_max, want_max) and np.array_equal(got_avg, want_avg)

print("target: max", got_max, "avg", got_avg)
print("spec:   max", want_max, "avg", want_avg)
sys.exit(0 if same else 1)
