"""jax / max-jvp-at-neg-inf: the JVP of max is 0 where the window's max is -inf.

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


x = jnp.array([[[-np.inf]]])
_, got = jax.jvp(lambda v: jax_max_pool(v, 1, 1, (0, 0)), (x,), (jnp.array([[[2.0]]]),))
_, want = spec.jvp("max_pool", (np.asarray(x),), (np.array([[[2.0]]]),), kernel_size=1)
same = np.array_equal(np.asarray(got), want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
