"""keras-tensorflow / adaptive-bin-longer-than-input-crash:
AdaptiveMaxPooling1D(2) of a length-1 input kills the process.

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

    from ndpool import spec

    x = np.array([[[1.0]]], dtype=np.float32)
    want = spec.adaptive_max_pool(x.astype(np.float64), output_size=2)
    print("spec:  ", want, flush=True)
    layer = keras.layers.AdaptiveMaxPooling1D(2, data_format="channels_first")
    got = keras.ops.convert_to_numpy(layer(x))  # SIGFPE in tf.nn.pool (window 2 > length 1)
    print("target:", got)
    return 0 if np.array_equal(got, want) else 1


def in_fresh_process() -> int:
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "NDPOOL_KERAS_REPRO": BACKEND}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    run = subprocess.run(
        [sys.executable, os.path.abspath(__file__)], env=env, capture_output=True, text=True
    )
    print(run.stdout, end="")
    if run.returncode < 0:  # killed by a signal: the crash is still there
        print(f"target: the process died (signal {-run.returncode})")
        return 1
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
