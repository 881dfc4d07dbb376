"""jax / avg-empty-window-derivative-nan:
count_include_pad=False on a window of padding only: JVP NaN (spec 0).

Registered in conformance/deviations/jax.toml. Exits 1 while the difference exists."""

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


x = jnp.array([[[2.0]]])


def avg(v):  # flax.linen.avg_pool(count_include_pad=False)
    win = ((1, 1, 2), (1, 1, 1), [(0, 0), (0, 0), (1, 1)])
    total = lax.reduce_window(v, 0.0, lax.add, *win, window_dilation=(1, 1, 2))
    count = lax.reduce_window(jnp.ones_like(v), 0.0, lax.add, *win, window_dilation=(1, 1, 2))
    return total / count


_, got = jax.jvp(avg, (x,), (jnp.array([[[1.0]]]),))
cfg = dict(kernel_size=2, stride=1, padding=1, dilation=2, count_include_pad=False)
_, want = spec.jvp("avg_pool", (np.asarray(x),), (np.array([[[1.0]]]),), **cfg)
same = np.array_equal(np.asarray(got), want, equal_nan=True)

print("target:", got)
print("spec:  ", want)
sys.exit(0 if same else 1)
