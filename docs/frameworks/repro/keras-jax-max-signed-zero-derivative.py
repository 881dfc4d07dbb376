"""keras-jax / max-signed-zero-derivative:
the max of [-0.0, +0.0] is cell 1's, its gradient goes to cell 0.

Registered in conformance/targets/deviations/keras-jax.toml.
Exits 1 while the difference exists.
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

    x = np.array([[[-0.0, 0.0]]])
    layer = keras.layers.MaxPooling1D(2, data_format="channels_first", dtype="float64")
    _, pullback = jax.vjp(layer, jax.numpy.asarray(x))
    (got,) = pullback(jax.numpy.ones((1, 1, 1)))
    (want,) = spec.vjp("max_pool", (x,), np.ones((1, 1, 1)), kernel_size=2, signed_zeros="ordered")
    print("target:", np.asarray(got))
    print("spec (signed_zeros='ordered'):", want)
    return 0 if np.array_equal(np.asarray(got), want) else 1


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
