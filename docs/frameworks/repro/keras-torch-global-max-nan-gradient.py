"""keras-torch / global-max-nan-gradient:
the gradient of GlobalMaxPooling1D at x = [nan] is NaN.

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
    import torch

    from ndpool import spec

    x = np.array([[[np.nan]]])
    layer = keras.layers.GlobalMaxPooling1D(
        data_format="channels_first", keepdims=True, dtype="float64"
    )
    xt = torch.tensor(x, requires_grad=True)
    layer(xt).backward(torch.full((1, 1, 1), 2.0, dtype=torch.float64))
    got = xt.grad.numpy()
    (want,) = spec.vjp("adaptive_max_pool", (x,), np.array([[[2.0]]]), output_size=1)
    print("target:", got)
    print("spec:  ", want)
    return 0 if np.array_equal(got, want, equal_nan=True) else 1


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
