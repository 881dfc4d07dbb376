"""tensorflow / max-pool-shorter-than-kernel-crash: MaxPool dies of SIGFPE on a too short input.

tf.nn.max_pool1d over a [1, 1, 1] (NWC) input with ksize 2, strides 1, "VALID" ends the
process with "Floating point exception" (an integer division by zero); the spec rejects the
configuration (C8: an output extent of 0). Run in a child process, so that this script
survives it.

Registered in conformance/targets/deviations/tensorflow.toml. Exits 1 while the difference
exists."""

import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from ndpool import spec

code = (
    "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
    "import tensorflow as tf\n"
    "print(tf.nn.max_pool1d(tf.zeros([1, 1, 1]), ksize=2, strides=1, padding='VALID').shape)\n"
)
child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
try:
    want = spec.max_pool(np.zeros((1, 1, 1)), kernel_size=2)
except ValueError as exc:
    want = f"rejected: {exc}"
crashed = child.returncode < 0

print("target:", f"killed by signal {-child.returncode}" if crashed else child.stdout.strip())
print("spec:  ", want)
sys.exit(1 if crashed else 0)
