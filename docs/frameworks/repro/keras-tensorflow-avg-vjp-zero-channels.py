"""keras-tensorflow / avg-vjp-zero-channels:
the float32 gradient of AveragePooling1D fails on an input with no channel (C = 0).

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

    x = np.zeros((1, 0, 5), dtype=np.float32)  # channels_first, no channel
    layer = keras.layers.AveragePooling1D(2, data_format="channels_first", dtype="float32")
    t = tf.constant(x)
    try:
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = layer(t)
        got = f"shape {tuple(tape.gradient(y, t).shape)}"
    except tf.errors.InvalidArgumentError as exc:
        got = f"rejected: {str(exc).split('}}')[-1].strip()[:80]}"
    (want,) = spec.vjp("avg_pool", (x.astype(np.float64),), np.zeros((1, 0, 2)), kernel_size=2)
    print("target:", got)
    print("spec:   shape", want.shape)
    return 1 if got.startswith("rejected") else 0


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
