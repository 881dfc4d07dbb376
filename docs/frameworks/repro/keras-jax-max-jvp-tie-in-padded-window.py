"""keras-jax / max-jvp-tie-in-padded-window:
in a 2-D window padded on its last axis with two tied maxima along a diagonal, JAX's JVP of
MaxPooling2D takes the tangent of the second of them (in row-major order); its VJP and the
spec take the first, so JVP and VJP are not adjoint.

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

    x = np.array([[[[0.0, 1.0], [1.0, 0.0]]]])  # [N, C, H, W]: maxima tied at (0, 1), (1, 0)
    t = np.array([[[[0.0, 1.0], [2.0, 0.0]]]])  # their tangents: 1 and 2
    layer = keras.layers.MaxPooling2D(
        2, strides=1, padding="same", data_format="channels_first", dtype="float64"
    )  # "same" at stride 1: one cell of padding at the end of each axis
    _, got = jax.jvp(layer, (jax.numpy.asarray(x),), (jax.numpy.asarray(t),))
    _, want = spec.jvp("max_pool", (x,), (t,), kernel_size=(2, 2), stride=1, padding="same")
    print("target: window (0, 0) tangent", np.asarray(got)[0, 0, 0, 0])
    print("spec:   window (0, 0) tangent", want[0, 0, 0, 0])
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
