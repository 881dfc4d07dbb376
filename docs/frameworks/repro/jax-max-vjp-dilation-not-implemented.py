"""jax / max-vjp-dilation-not-implemented:
jax.vjp of a dilated reduce_window max raises NotImplementedError.

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


x = jnp.array([[[1.0, 3.0, 2.0]]])
try:
    _, pullback = jax.vjp(lambda v: jax_max_pool(v, 2, 1, (0, 0), dil=2), x)
    got = np.asarray(pullback(jnp.ones((1, 1, 1)))[0])
except NotImplementedError as exc:
    got = f"NotImplementedError: {str(exc)[:80]}"
(want,) = spec.vjp(
    "max_pool", (np.asarray(x),), np.ones((1, 1, 1)), kernel_size=2, stride=1, dilation=2
)
same = isinstance(got, np.ndarray) and np.array_equal(got, want)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
