"""jax / max-derivative-nan: the VJP of max sends the cotangent to a non-NaN cell of a NaN window.

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


x = jnp.array([[[np.nan, np.nan, 0.0]]])
_, pullback = jax.vjp(lambda v: jax_max_pool(v, 3, 3, (0, 0)), x)
(got,) = pullback(jnp.ones((1, 1, 1)))
(want,) = spec.vjp("max_pool", (np.asarray(x),), np.ones((1, 1, 1)), kernel_size=3)
same = np.array_equal(np.asarray(got), want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
