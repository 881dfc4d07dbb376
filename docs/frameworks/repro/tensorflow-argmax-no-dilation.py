"""tensorflow / argmax-no-dilation: tf.nn.max_pool_with_argmax has no dilation.

Its signature has no dilations argument (tf.nn.pool, which has one, returns no indices);
the spec returns indices for a dilated window.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import inspect
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ndpool import spec

params = list(inspect.signature(tf.nn.max_pool_with_argmax).parameters)
x = np.arange(1.0, 6.0).reshape((1, 1, 1, 5))  # NCHW
want = spec.max_pool(x, kernel_size=(1, 2), stride=1, dilation=(1, 2), return_indices=True)
has = any(p.startswith("dilation") for p in params)

print("target: tf.nn.max_pool_with_argmax parameters", params)
print("spec:  ", [a.ravel() for a in want])
sys.exit(0 if has else 1)
