"""jax / max-signed-zero: lax.max orders -0.0 below +0.0 (signed_zeros="ordered"); the spec's
default returns the first of tied zeros.

A convention, not a deviation: the spec names it signed_zeros="ordered" (a [[convention]] in
conformance/targets/deviations/jax.toml). Exits 1 while JAX differs from the spec's default and
equals the spec under signed_zeros="ordered" (0: JAX follows the default; 2: neither)."""

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


def same(a, b):
    return np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b))


x = np.array([[[-0.0, 0.0]]])
got = np.asarray(jax_max_pool(jnp.asarray(x), 2, 2, (0, 0)))
default = spec.max_pool(x, kernel_size=2)
named = spec.max_pool(x, kernel_size=2, signed_zeros="ordered")

print("target:                        ", got)
print("spec (default, 'tie'):         ", default)
print("spec (signed_zeros='ordered'): ", named)
sys.exit(0 if same(got, default) else 1 if same(got, named) else 2)
