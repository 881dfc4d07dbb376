"""jax / sizes-checked-on-cache-miss-only: reduce_window checks its sizes only on a cache miss.

Its cache compares keys with ==, and 2.0 == 2: a float window_dilation, or a float padding,
equal to an int one called before is accepted (the spec, C4 and C5, rejects every float),
and an int one after the equal float was rejected is rejected too (a valid call fails
because of an invalid one).

Registered in conformance/targets/deviations/jax.toml. Exits 1 while the difference
exists."""

import sys

import jax.numpy as jnp
import numpy as np
from jax import lax

from ndpool import spec

x = jnp.arange(3.0).reshape(1, 1, 3)


def pool(dilation=(1, 1, 1), pad=0, window=1):
    init = jnp.array(0, x.dtype)
    pads = ((0, 0), (0, 0), (pad, pad))
    window = (1, 1, window)
    return lax.reduce_window(x, init, lax.add, window, (1, 1, 1), pads, window_dilation=dilation)


accepted = {}
for label, kwargs in (
    ("dilation int 2", {"dilation": (1, 1, 2)}),
    ("dilation float 2.0 after it", {"dilation": (1, 1, 2.0)}),
    ("padding int 1", {"pad": 1, "window": 2}),
    ("padding float 1.0 after it", {"pad": 1.0, "window": 2}),
):
    try:
        got = f"pools: {np.asarray(pool(**kwargs)).ravel()}"
        accepted[label] = True
    except TypeError as exc:
        got = f"rejected: {str(exc)[:70]}"
        accepted[label] = False
    print(f"{label}: {got}")
for key, value in (("dilation", 2.0), ("padding", 1.0)):
    try:
        spec.avg_pool(np.zeros((1, 1, 3)), kernel_size=2, **{key: value})
        want = "accepted"
    except spec.ConstraintError as exc:
        want = f"rejected: {exc}"
    print(f"spec, {key}={value}:", want)
floats = ("dilation float 2.0 after it", "padding float 1.0 after it")
sys.exit(1 if any(accepted[label] for label in floats) else 0)
