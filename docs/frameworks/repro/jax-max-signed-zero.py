"""jax / max-signed-zero: lax.max orders -0.0 below +0.0; the spec returns the first of tied zeros.

Registered in conformance/deviations/jax.toml. Exits 1 while the difference exists."""

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


x = np.array([[[-0.0, 0.0]]])
got = np.asarray(jax_max_pool(jnp.asarray(x), 2, 2, (0, 0)))
want = spec.max_pool(x, kernel_size=2)
same = np.array_equal(np.signbit(got), np.signbit(want))

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
