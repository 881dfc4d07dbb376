"""jax / sizes-accept-bool: lax.reduce_window takes True as a size of 1.

Registered in conformance/targets/deviations/jax.toml. Exits 1 while the difference exists:
JAX computes with window dimensions and strides of True, the spec rejects them (C2, C3)."""

import sys

import jax.numpy as jnp
import numpy as np
from jax import lax

from ndpool import spec

x = np.arange(4.0).reshape(1, 1, 4)
got = lax.reduce_window(jnp.asarray(x), -jnp.inf, lax.max, (1, 1, True), (1, 1, True), [(0, 0)] * 3)
print("target:", np.asarray(got))
try:
    spec.max_pool(x, kernel_size=True, stride=True)
except spec.ConstraintError as exc:
    print("spec:   rejects:", exc)
    sys.exit(1)
print("spec:   accepts")
sys.exit(0)
