"""jax / accepts-empty-or-short-input: reduce_window accepts a spatial extent of 0 (spec C7).

Registered in conformance/targets/deviations/jax.toml. Exits 1 while the difference exists."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ndpool import spec

jax.config.update("jax_enable_x64", True)


def jax_max_pool(x, k, s, pads, dil=1):
    return lax.reduce_window(
        x,
        -jnp.inf,
        lax.max,
        (1, 1, k),
        (1, 1, s),
        [(0, 0), (0, 0), pads],
        window_dilation=(1, 1, dil),
    )


x = jnp.zeros((1, 1, 0))
try:
    got = jax_max_pool(x, 1, 1, (0, 0)).shape
except Exception as exc:
    got = f"rejected: {type(exc).__name__}"
try:
    want = spec.max_pool(np.asarray(x), kernel_size=1)
except ValueError as exc:
    want = f"rejected: {exc}"
same = isinstance(got, str)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
