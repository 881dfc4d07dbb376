"""jax / max-signed-zero-derivative: the value of max(-0.0, +0.0) is the +0.0, the gradient
goes to the -0.0.

Registered in conformance/targets/deviations/jax.toml. Exits 1 while the difference exists."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ndpool import spec

jax.config.update("jax_enable_x64", True)


def jax_max_pool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2), (1, 1, 2), [(0, 0)] * 3)


x = np.array([[[-0.0, 0.0]]])
y, pullback = jax.vjp(jax_max_pool, jnp.asarray(x))
(got,) = pullback(jnp.ones_like(y))
got = np.asarray(got)
# JAX's value follows signed_zeros="ordered" (+0.0, cell 1); the spec's VJP goes to that cell
want = spec.vjp("max_pool", (x,), np.ones((1, 1, 1)), kernel_size=2, signed_zeros="ordered")[0]
same = np.array_equal(got, want)

print("target value:", np.asarray(y), "VJP:", got)
print("spec VJP:    ", want)
sys.exit(0 if same else 1)
