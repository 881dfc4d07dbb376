"""jax / max-jvp-tie-in-padded-window: in a window padded on its last axis, jax.jvp of
reduce_window max takes the tangent of the second of two tied maxima; jax.vjp and the spec
take the first.

Registered in conformance/targets/deviations/jax.toml. Exits 1 while the difference exists."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ndpool import spec

PADS = ((0, 0), (0, 1))  # the last axis padded at its end


def jax_max_pool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2), (1, 1, 1), ((0, 0), *PADS))


x = np.array([[[0.0, 1.0], [1.0, 0.0]]], dtype=np.float32)  # [C, H, W]: two tied maxima
t = np.array([[[0.0, 1.0], [2.0, 0.0]]], dtype=np.float32)  # tangent: 1 at (0, 1), 2 at (1, 0)
cfg = dict(kernel_size=(2, 2), stride=1, padding=PADS)

_, jvp = jax.jvp(jax_max_pool, (jnp.asarray(x),), (jnp.asarray(t),))
y, pullback = jax.vjp(jax_max_pool, jnp.asarray(x))
(vjp,) = pullback(jnp.ones_like(y))
_, want_jvp = spec.jvp("max_pool", (x,), (t,), **cfg)
want_vjp = spec.vjp("max_pool", (x,), np.ones(np.shape(y), np.float32), **cfg)[0]

print("window (0, 0): JAX JVP", np.asarray(jvp)[0, 0, 0], "spec JVP", want_jvp[0, 0, 0])
print("JAX VJP of ones:", np.asarray(vjp).tolist(), "spec:", want_vjp.tolist())
same = np.array_equal(np.asarray(jvp), want_jvp)
sys.exit(0 if same else 1)
