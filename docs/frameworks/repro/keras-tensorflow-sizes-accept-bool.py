"""keras-tensorflow / sizes-accept-bool:
pool_size=True is taken as 1 (the spec rejects a bool, C2).

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

    x = np.arange(3.0).reshape(1, 1, 3)
    try:
        layer = keras.layers.MaxPooling1D(True, data_format="channels_first", dtype="float64")
        got = keras.ops.convert_to_numpy(layer(x))
    except Exception as exc:
        got = f"rejected: {type(exc).__name__}"
    try:
        want = spec.max_pool(x, kernel_size=True)
    except ValueError as exc:
        want = f"rejected: {exc}"
    print("target:", got)
    print("spec:  ", want)
    return 0 if isinstance(got, str) else 1


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
