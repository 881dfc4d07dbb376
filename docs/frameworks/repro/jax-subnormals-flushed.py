"""jax / subnormals-flushed: XLA CPU flushes float32 subnormals: max(-4.2e-45, -2) = -0.0.

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


x = np.array([[[-4.203895392974451e-45, -2.0]]], dtype=np.float32)
got = np.asarray(jax_max_pool(jnp.asarray(x), 2, 2, (0, 0)))
want = spec.max_pool(x.astype(np.float64), kernel_size=2)
same = np.array_equal(got.astype(np.float64), want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
