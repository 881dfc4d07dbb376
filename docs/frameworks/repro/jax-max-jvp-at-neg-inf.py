"""jax / max-jvp-at-neg-inf: at a window whose max is -inf, jax.jvp of reduce_window max is 0,
and jax.vjp sends the cotangent to the window's first cell counting padding: the spec's first
-inf cell for a window that starts inside the input, a padding cell (the cotangent is lost)
for one that starts in the begin padding.

Registered in conformance/targets/deviations/jax.toml. Exits 1 while exactly that holds
(0: JVP and VJP equal the spec's; 2: another outcome)."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ndpool import spec

jax.config.update("jax_enable_x64", True)


def jax_max_pool(x, k, s, pads):  # as conformance/targets/jax_lax.py builds it
    init = jnp.array(-jnp.inf, x.dtype)
    return lax.reduce_window(x, init, lax.max, (1, 1, k), (1, 1, s), [(0, 0), (0, 0), pads])


def compare(x, tangent, cotangent, k, s, pads):
    f = lambda v: jax_max_pool(v, k, s, pads)  # noqa: E731
    x = np.asarray(x, dtype=np.float64)
    _, jvp = jax.jvp(f, (jnp.asarray(x),), (jnp.asarray(tangent),))
    (vjp,) = jax.vjp(f, jnp.asarray(x))[1](jnp.asarray(cotangent))
    cfg = dict(kernel_size=k, stride=s, padding=(pads,))
    _, spec_jvp = spec.jvp("max_pool", (x,), (np.asarray(tangent),), **cfg)
    (spec_vjp,) = spec.vjp("max_pool", (x,), np.asarray(cotangent), **cfg)
    return np.asarray(jvp), spec_jvp, np.asarray(vjp), spec_vjp


# (a) no padding: x = [-inf, -inf], kernel 2: one window, all -inf
a = compare([[[-np.inf, -np.inf]]], [[[2.0, 5.0]]], [[[3.0]]], 2, 2, (0, 0))
# (b) padding: x = [-inf], kernel 2, stride 1, padding 1: windows [pad, x0] and [x0, pad]
b = compare([[[-np.inf]]], [[[2.0]]], [[[3.0, 4.0]]], 2, 1, (1, 1))

for name, (jvp, sjvp, vjp, svjp) in (("(a) unpadded", a), ("(b) padded", b)):
    print(
        f"{name}: JVP target {jvp.ravel()}, spec {sjvp.ravel()}; "
        f"VJP target {vjp.ravel()}, spec {svjp.ravel()}"
    )

if all(np.array_equal(t, s) for r in (a, b) for t, s in ((r[0], r[1]), (r[2], r[3]))):
    sys.exit(0)
registered = (
    not a[0].any()
    and not b[0].any()  # JVP 0 at every -inf window
    and np.array_equal(a[1].ravel(), [2.0])
    and np.array_equal(b[1].ravel(), [2.0, 2.0])
    and np.array_equal(a[2], a[3])  # VJP: the spec's where the window starts in the input
    and np.array_equal(b[2].ravel(), [4.0])  # window 0 starts in padding: its 3 is lost
    and np.array_equal(b[3].ravel(), [7.0])
)
sys.exit(1 if registered else 2)
