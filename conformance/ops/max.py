"""Max and adaptive max pooling: selections, compared bit for bit (value, index, JVP);
the VJP adds cotangents, bounded by :func:`ndpool.conformance.tolerances.window_vjp_bound`."""

from __future__ import annotations

from ..record import OpInfo, always, conventions
from ..strategies import adaptive_geometry
from ..tolerances import window_vjp_bound


def _max_options(draw, caps, purpose):
    return conventions("max_pool", draw, caps)


def _adaptive_max_options(draw, caps, purpose):
    return conventions("adaptive_max_pool", draw, caps)


MAX_POOL = OpInfo(
    "max_pool",
    draw_options=_max_options,
    selects=always,
    exact_jvp=always,
    vjp_bound=window_vjp_bound,
    monotone=True,
)

ADAPTIVE_MAX_POOL = OpInfo(
    "adaptive_max_pool",
    draw_options=_adaptive_max_options,
    draw_geometry=adaptive_geometry,
    selects=always,
    exact_jvp=always,
    vjp_bound=window_vjp_bound,
    monotone=True,
    translation=False,
)
