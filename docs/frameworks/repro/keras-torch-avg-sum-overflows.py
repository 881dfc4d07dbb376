"""keras-torch / avg-sum-overflows:
the float32 average of [0.5, 0.375, 0.5] * max overflows to inf.

Registered in conformance/targets/deviations/keras-torch.toml.
Exits 1 while the difference exists.
Keras fixes its backend when it is imported, so the script runs itself again in a fresh
process with KERAS_BACKEND=torch (and prints that run's output)."""

import os
import subprocess
import sys
import traceback

BACKEND = "torch"


def main() -> int:
    import keras
    import numpy as np

    from ndpool import spec

    big = float(np.finfo(np.float32).max)
    x = np.array([[[0.5 * big, 0.375 * big, 0.5 * big]]]).astype(np.float32)
    layer = keras.layers.AveragePooling1D(3, data_format="channels_first", dtype="float32")
    got = keras.ops.convert_to_numpy(layer(x)).astype(np.float64)
    want = spec.avg_pool(x.astype(np.float64), kernel_size=3)
    print("target:", got)
    print("spec:  ", want)
    return 0 if np.allclose(got, want, rtol=1e-6) else 1


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
