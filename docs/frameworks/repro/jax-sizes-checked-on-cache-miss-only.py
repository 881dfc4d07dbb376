"""jax / sizes-checked-on-cache-miss-only: reduce_window checks its sizes only on a cache miss.

Its cache compares keys with ==, and 2.0 == 2: a float window_dilation equal to an int one
called before is accepted (the spec, C4, rejects every float), and an int one after the
equal float was rejected is rejected too (a valid call fails because of an invalid one).

Registered in conformance/targets/deviations/jax.toml. Exits 1 while the difference
exists."""

import sys

import jax.numpy as jnp
import numpy as np
from jax import lax

from ndpool import spec

x = jnp.arange(3.0).reshape(1, 1, 3)


def pool(dilation):
    init = jnp.array(0, x.dtype)
    pads = ((0, 0),) * 3
    return lax.reduce_window(x, init, lax.add, (1, 1, 1), (1, 1, 1), pads, window_dilation=dilation)


accepted = {}
for label, dilation in (("int 2", (1, 1, 2)), ("float 2.0 after it", (1, 1, 2.0))):
    try:
        got = f"pools: {np.asarray(pool(dilation)).ravel()}"
        accepted[label] = True
    except TypeError as exc:
        got = f"rejected: {str(exc)[:70]}"
        accepted[label] = False
    print(f"{label}: {got}")
try:
    spec.avg_pool(np.zeros((1, 1, 3)), kernel_size=1, dilation=2.0)
    want = "accepted"
except spec.ConstraintError as exc:
    want = f"rejected: {exc}"
print("spec, dilation=2.0:", want)
sys.exit(1 if accepted["float 2.0 after it"] else 0)
