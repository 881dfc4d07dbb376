"""Average and adaptive average pooling: a sum of the real cells over a divisor.

Forward: ``|y^ - y| <= (n + 2) (u S + tiny)`` with ``S = sum |x_i| / |D|`` (``n - 1``
additions, a reciprocal, a product, the final rounding; ``tiny`` covers gradual
underflow). Partials ``1 / D`` on real cells, each off by ``2u`` relatively.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..record import Invalid, OpInfo, choose, conventions
from ..strategies import adaptive_geometry
from ..tolerances import Allowed, Partials, Windows, spec_value


def sum_forward(case, ref) -> Allowed:
    win = Windows(case)
    s = np.abs(spec_value(case, np.abs(case.x)))
    return Allowed.radius(ref, win.unbatch(win.n + 2) * (win.u * s + win.tiny))


def sum_partials(case, win: Windows) -> Partials:
    per_cell = np.abs(win.batch(spec_value(case, np.ones_like(case.x))))  # n / |D|
    per_cell = per_cell[..., None] / np.where(win.n == 0, 1, win.n)[..., None]
    a = np.where(win.real, per_cell, 0.0)
    return Partials([(a, 2 * win.u * a)])


def _avg_options(draw, caps, purpose):
    keys = caps.config_keys
    out: dict[str, Any] = conventions("avg_pool", draw, caps)
    if keys is None or "count_include_pad" in keys:
        out["count_include_pad"] = choose(draw, caps, "count_include_pad", (True, False))
    if keys is None or "divisor_override" in keys:
        common = (None,) * 6
        positive = purpose.get("property") == "monotonicity"
        choices = common + ((1, 2, 3, 5) if positive else (1, 2, 3, -2))
        out["divisor_override"] = draw(st.sampled_from(choices))
    return out


AVG_INVALID = (
    Invalid(
        "C13", "divisor_override = 0", "divisor_override", lambda d, c, n: {"divisor_override": 0}
    ),
)

AVG_POOL = OpInfo(
    "avg_pool",
    draw_options=_avg_options,
    forward=sum_forward,
    partials=sum_partials,
    invalid=AVG_INVALID,
    monotone=True,
)

ADAPTIVE_AVG_POOL = OpInfo(
    "adaptive_avg_pool",
    draw_geometry=adaptive_geometry,
    forward=sum_forward,
    partials=sum_partials,
    monotone=True,
    translation=False,
)
