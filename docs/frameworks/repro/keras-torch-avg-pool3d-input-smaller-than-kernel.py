"""keras-torch / avg-pool3d-input-smaller-than-kernel:
AveragePooling3D(same) rejects an axis shorter than the pool.

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

    x = np.ones((1, 1, 1, 1, 1))
    want = spec.avg_pool(
        x, kernel_size=(1, 1, 3), stride=1, padding="same", count_include_pad=False
    )
    try:
        layer = keras.layers.AveragePooling3D(
            (1, 1, 3), strides=1, padding="same", data_format="channels_first", dtype="float32"
        )
        got = keras.ops.convert_to_numpy(layer(x.astype(np.float32)))
    except Exception as exc:  # RuntimeError: input image ... smaller than kernel size
        got = f"raised {type(exc).__name__}"
    print("target:", got)
    print("spec:  ", want)
    return 1 if isinstance(got, str) else 0


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
