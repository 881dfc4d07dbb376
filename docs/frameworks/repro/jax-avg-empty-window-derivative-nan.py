"""jax / avg-empty-window-derivative-nan:
count_include_pad=False on a window of padding only: JVP NaN (spec default 0).

A deviation (registered in conformance/targets/deviations/jax.toml): the spec can express it
as empty_window_derivative="nan", but no JAX or flax document states it. Exits 1 while JAX
differs from the spec's default and equals the spec under that option (0: JAX follows the
default; 2: neither)."""

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
got = np.asarray(got)
cfg = dict(kernel_size=2, stride=1, padding=1, dilation=2, count_include_pad=False)
primals, tangents = (np.asarray(x),), (np.array([[[1.0]]]),)
_, default = spec.jvp("avg_pool", primals, tangents, **cfg)
_, named = spec.jvp("avg_pool", primals, tangents, empty_window_derivative="nan", **cfg)

print("target:                                ", got)
print("spec (default, 'zero'):                ", default)
print("spec (empty_window_derivative='nan'):  ", named)
if np.array_equal(got, default, equal_nan=True):
    sys.exit(0)
sys.exit(1 if np.array_equal(got, named, equal_nan=True) else 2)
