"""keras-jax / max-signed-zero:
MaxPooling1D of [-0.0, +0.0] is +0.0 (IEEE maximum).

Registered in conformance/targets/deviations/keras-jax.toml.
A convention, not a deviation (a [[convention]] entry): exits 1 while Keras differs
from the spec's default and equals the spec under the named option (0: it follows the
default; 2: neither).
Keras fixes its backend when it is imported, so the script runs itself again in a fresh
process with KERAS_BACKEND=jax (and prints that run's output)."""

import os
import subprocess
import sys
import traceback

BACKEND = "jax"


def main() -> int:
    import jax
    import keras
    import numpy as np

    from ndpool import spec

    jax.config.update("jax_enable_x64", True)

    def same(a, b):
        return np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b))

    x = np.array([[[-0.0, 0.0]]])
    layer = keras.layers.MaxPooling1D(2, data_format="channels_first", dtype="float64")
    got = np.asarray(layer(x))
    default = spec.max_pool(x, kernel_size=2)
    named = spec.max_pool(x, kernel_size=2, signed_zeros="ordered")
    print("target:                        ", got)
    print("spec (default, 'tie'):         ", default)
    print("spec (signed_zeros='ordered'): ", named)
    return 0 if same(got, default) else 1 if same(got, named) else 2


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
