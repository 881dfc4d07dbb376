"""The ``jax`` target: ``lax.reduce_window`` pooling, flax-style average, jax.jvp / jax.vjp.

- ``max_pool``: ``lax.reduce_window(x, -inf, lax.max, ...)`` (as ``flax.linen.max_pool``).
- ``avg_pool``: ``lax.reduce_window(x, 0, lax.add, ...)`` divided flax-style:
  ``count_include_pad=True`` by the window size ``prod(kernel_size)``,
  ``count_include_pad=False`` by a ``reduce_window`` sum of ones over the same padding
  (``flax.linen.avg_pool``; flax itself is not needed).
- ``padding``: int / ints / ``(begin, end)`` pairs are ``reduce_window``'s explicit
  padding; ``"valid"``, ``"same"``, ``"same_lower"`` are passed as the strings
  ``"VALID"``, ``"SAME"``, ``"SAME_LOWER"`` so JAX splits the padding itself.
- ``dilation``: ``window_dilation``.

The convention JAX documents is declared as the spec option that names it (the suite
passes it to the spec reference, the adapter drops it before calling JAX):
``signed_zeros="ordered"`` for max (``lax.max`` is IEEE ``maximum``: ``-0.0 < +0.0``). The
average's NaN derivative at a window without a real cell (``sum / count`` differentiated
literally) is documented nowhere: a deviation (``avg-empty-window-derivative-nan``).

What JAX does not have is declared, not emulated: no ``ceil_mode`` (``reduce_window``
has no such notion), no ``divisor_override``, no indices (no argmax pooling), no Lp or
adaptive pooling. Derivatives are ``jax.jvp`` and ``jax.vjp`` of the same functions.
float64 needs ``jax_enable_x64``: :func:`make_target` turns it on (a process-wide JAX
flag; ``float32`` inputs stay ``float32``). Arrays are built with ``jnp.asarray`` from
contiguous NumPy arrays (JAX has no strides), on the CPU.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..cases import Case
from .base import Capabilities, NotProvided, Target, construct_for, follow_conventions

OPS = ("max_pool", "avg_pool")


def _jax():
    import jax

    return jax


def _size(v):
    """An integer size as a Python int (NumPy's too); anything else (a float, a bool) as it
    is, for lax to judge as a user's call would (``int()`` would accept ``2.0``)."""
    return int(v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v


def _tuple(v, d: int) -> tuple:
    return tuple(_size(a) for a in v) if isinstance(v, (tuple, list)) else (_size(v),) * d


def _padding(padding, d: int):
    if isinstance(padding, str):
        table = {"valid": "VALID", "same": "SAME", "same_lower": "SAME_LOWER"}
        if padding not in table:
            raise ValueError(f"unknown padding {padding!r}")
        return table[padding]
    if isinstance(padding, (tuple, list)) and any(isinstance(p, (tuple, list)) for p in padding):
        pairs = [tuple(_size(a) for a in p) for p in padding]
    else:
        pairs = [(p, p) for p in _tuple(padding, d)]
    if len(pairs) != d or any(b < 0 or e < 0 for b, e in pairs):
        raise ValueError(f"padding {padding!r} must be {d} non-negative values or pairs")
    return [(0, 0), (0, 0), *pairs]


def _geometry(x, kernel_size, stride, padding, dilation, batched):
    d = x.ndim - (2 if batched else 1)
    kernel = _tuple(kernel_size, d)
    strides = kernel if stride is None else _tuple(stride, d)
    dil = _tuple(1 if dilation is None else dilation, d)
    for name, vals in (("kernel_size", kernel), ("stride", strides), ("dilation", dil)):
        if len(vals) != d or any(v < 1 for v in vals):
            raise ValueError(f"{name}={vals} must be {d} positive ints")
    return (
        (1, 1, *kernel),
        (1, 1, *strides),
        _padding(padding, d),
        (1, 1, *dil),
    )


def _reduce(x, init, fn, window, strides, pads, dil):
    """``lax.reduce_window``. JAX caches it by its static arguments, and ``2.0 == 2``: once a
    call with float window dimensions has raised (as lax should), a later call with the
    equal ints raises the same TypeError from the cache (jax 0.10.2). The suite draws such
    floats to check that they are rejected; clearing the caches after a rejection keeps
    that from leaking into the next, valid example."""
    import jax
    from jax import lax

    try:
        return lax.reduce_window(x, init, fn, window, strides, pads, window_dilation=dil)
    except TypeError:
        jax.clear_caches()
        raise


def max_pool(x, *, kernel_size, stride=None, padding=0, dilation=1, batched=True):
    import jax.numpy as jnp
    from jax import lax

    xb = x if batched else x[None]
    window, strides, pads, dil = _geometry(xb, kernel_size, stride, padding, dilation, True)
    y = _reduce(xb, jnp.array(-jnp.inf, xb.dtype), lax.max, window, strides, pads, dil)
    return y if batched else y[0]


def avg_pool(
    x, *, kernel_size, stride=None, padding=0, dilation=1, count_include_pad=True, batched=True
):
    import jax.numpy as jnp
    from jax import lax

    xb = x if batched else x[None]
    window, strides, pads, dil = _geometry(xb, kernel_size, stride, padding, dilation, True)
    total = _reduce(xb, jnp.array(0, xb.dtype), lax.add, window, strides, pads, dil)
    if count_include_pad:
        y = total / math.prod(window)
    else:  # flax.linen.avg_pool(count_include_pad=False)
        ones = jnp.ones((1, 1, *xb.shape[2:]), xb.dtype)
        y = total / _reduce(ones, jnp.array(0, xb.dtype), lax.add, window, strides, pads, dil)
    return y if batched else y[0]


FUNCTIONS = {"max_pool": max_pool, "avg_pool": avg_pool}


class JaxTarget(Target):
    """JAX functions on ``jax.Array``; JVP and VJP from ``jax.jvp`` / ``jax.vjp``."""

    def provides(self, op: str) -> bool:
        return op in FUNCTIONS

    def _fn(self, case: Case):
        fn = FUNCTIONS.get(case.op)
        if fn is None:
            raise NotProvided(f"{self.name} has no {case.op}")
        cfg = follow_conventions(case.op, case.cfg, self.capabilities(case.op))
        if cfg.pop("ceil_mode", False):
            raise ValueError("jax: reduce_window has no ceil_mode")
        if cfg.pop("divisor_override", None) is not None:
            raise ValueError("jax: no divisor_override")

        def f(x):
            return fn(x, batched=case.batched, **cfg)

        return f

    def _array(self, a, dtype: str):
        import jax.numpy as jnp

        return jnp.asarray(np.ascontiguousarray(np.asarray(a, dtype=np.float64)), dtype=dtype)

    def _call(self, case: Case):
        if case.return_indices:
            raise NotProvided("jax has no max-pool indices")
        return self._fn(case)(self._array(case.x, case.dtype))

    def _jvp(self, case: Case, tangents):
        y, y_dot = _jax().jvp(
            self._fn(case),
            (self._array(case.x, case.dtype),),
            (self._array(tangents[0], case.dtype),),
        )
        return y, y_dot

    def _vjp(self, case: Case, cotangent):
        _, pullback = _jax().vjp(self._fn(case), self._array(case.x, case.dtype))
        (x_bar,) = pullback(self._array(cotangent, case.dtype))
        return (x_bar,)


CAPABILITIES = Capabilities(
    layouts=("contiguous",),
    return_indices=False,
)
PER_OP = {
    "max_pool": CAPABILITIES.replace(
        config_keys=("kernel_size", "stride", "padding", "dilation", "signed_zeros"),
        option_values={"signed_zeros": ("ordered",)},
    ),
    "avg_pool": CAPABILITIES.replace(
        config_keys=(
            "kernel_size",
            "stride",
            "padding",
            "dilation",
            "count_include_pad",
        ),
    ),
}


def make_target(device: str = "cpu") -> JaxTarget:
    try:
        jax = _jax()
    except ImportError as exc:
        raise ImportError(
            "target 'jax' is not installed: no module 'jax' (pip install -e '.[targets]')",
            name="jax",
        ) from exc
    jax.config.update("jax_enable_x64", True)
    if device != "cpu":
        raise ValueError(f"the jax target runs on the CPU, not {device!r}")
    return JaxTarget(
        "jax",
        CAPABILITIES,
        PER_OP,
        construct=construct_for("jax"),
    )
