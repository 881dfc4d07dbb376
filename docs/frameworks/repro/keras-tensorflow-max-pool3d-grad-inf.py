"""keras-tensorflow / max-pool3d-grad-inf:
the 3-D max gradient of a window whose maximum is +inf is lost.

Registered in conformance/targets/deviations/keras-tensorflow.toml.
Exits 1 while the difference exists.
Keras fixes its backend when it is imported, so the script runs itself again in a fresh
process with KERAS_BACKEND=tensorflow (and prints that run's output)."""

import os
import subprocess
import sys
import traceback

BACKEND = "tensorflow"


def main() -> int:
    import keras
    import numpy as np
    import tensorflow as tf

    from ndpool import spec

    x = np.array([np.inf, 1.0]).reshape(1, 1, 1, 1, 2)
    layer = keras.layers.MaxPooling3D((1, 1, 2), data_format="channels_first", dtype="float32")
    xt = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
    got = tape.gradient(y, xt, output_gradients=tf.fill(y.shape, 2.0)).numpy().ravel()
    (want,) = spec.vjp("max_pool", (x,), np.full((1, 1, 1, 1, 1), 2.0), kernel_size=(1, 1, 2))
    print("target:", got)
    print("spec:  ", want.ravel())
    return 0 if np.array_equal(got, want.ravel()) else 1


def in_fresh_process() -> int:
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "NDPOOL_KERAS_REPRO": BACKEND}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    run = subprocess.run(
        [sys.executable, os.path.abspath(__file__)], env=env, capture_output=True, text=True
    )
    print(run.stdout, end="")
    if run.returncode not in (0, 1):
        print(run.stderr[-3000:], file=sys.stderr)
    return run.returncode


def in_this_process() -> int:
    """``main``, an exception in it made exit 2 (exit 1 says the deviation is there)."""
    try:
        return main()
    except Exception:
        traceback.print_exc()
        return 2


if __name__ == "__main__":
    here = os.environ.get("NDPOOL_KERAS_REPRO") == BACKEND
    sys.exit(in_this_process() if here else in_fresh_process())
