"""jax / avg-sum-overflows: a float32 window sum overflows where the mean is finite.

Registered in conformance/targets/deviations/jax.toml. Exits 1 while the difference
exists."""

import sys

import jax.numpy as jnp
import numpy as np
from jax import lax

from ndpool import spec

top = np.finfo(np.float32).max
x = np.array([[[0.5, 0.375, 0.5]]]) * top  # a float32 window whose mean is finite
total = lax.reduce_window(jnp.asarray(x, jnp.float32), 0.0, lax.add, (1, 1, 3), (1, 1, 1), "VALID")
got = np.asarray(total / 3)
want = spec.avg_pool(x, kernel_size=3)
same = np.allclose(np.asarray(got, dtype=np.float64), want, rtol=1e-6)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
