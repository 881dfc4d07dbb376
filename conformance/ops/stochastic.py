"""Stochastic pooling: train is a selection by the inverse CDF at the draw ``u`` (exact;
draws nudged off the CDF boundaries, where another summation order may pick the
neighbour), eval is ``sum x^2 / sum x`` (``(2K + 4) u`` relatively). Not monotone (the
pick, and ``x_j < y/2`` lowers the eval value)."""

from __future__ import annotations

import numpy as np

from ndpool import spec
from ndpool.spec import stochastic as spec_stochastic

from ..cases import UNIT_ROUNDOFF, Case
from ..record import (
    FINITE_REGIMES,
    MODE_INVALID,
    Invalid,
    OpInfo,
    exact_forward,
    mode_options,
    sample,
    train,
)
from ..tolerances import Allowed, Partials, Windows, finite, window_vjp_bound


def _forward(case, ref) -> Allowed:
    if train(case.cfg):
        return exact_forward(case, ref)
    win = Windows(case)
    y = np.abs(win.batch(ref))
    return Allowed.radius(ref, win.unbatch((2 * win.K + 4) * win.u * y + win.tiny * (win.K + 2)))


def _partials(case, win: Windows) -> Partials:
    u = win.u
    with np.errstate(all="ignore"):
        y, dx = spec_stochastic.eval_partials(win.w, win.call)
        total = win.absw.sum(-1)
        safe = np.where(total > 0, total, 1.0)[..., None]
        e_y = (2 * win.K + 4) * u * np.abs(y)
        a_bar = (2 * win.absw + np.abs(y)[..., None]) / safe
        d_x = np.where(total[..., None] > 0, e_y[..., None] / safe + (win.K + 3) * u * a_bar, 0)
    return Partials([(finite(np.abs(dx)), finite(win.cells(d_x))), None])


def _vjp_bound(case, cotangent):
    """Train: the pick's cotangents (a selection); eval: from the partials (None)."""
    return window_vjp_bound(case, cotangent) if train(case.cfg) else None


def _params(draw, caps, channels, dtype, purpose):
    if not train(purpose["cfg"]):
        return (None,)
    return (sample("stochastic_pool", 1, draw, purpose),)


def _non_negative(x, rng):
    """stochastic_pool's domain (C18): finite and >= 0."""
    return np.where(np.isfinite(x), np.abs(x), 0.0)


def off_boundaries(x: np.ndarray, params: tuple, cfg: dict, dtype: str) -> tuple:
    """The draw ``u`` with every value within ``(K + 2)`` units of ``dtype``'s roundoff of a
    CDF boundary ``c_k / S`` moved to the middle of the cell it picks in the spec: a target
    that forms the running sums in its own order or precision may pick either neighbour of
    a boundary draw, so the exact comparison is only meaningful away from them
    (``ndpool.spec.stochastic.selection_margin``)."""
    (u,) = params
    if u is None:
        return params
    cfg = {k: v for k, v in cfg.items() if k != "mode"}
    margin = spec_stochastic.selection_margin(x, u, **cfg)
    call, w, _ = spec_stochastic.STOCHASTIC_POOL.gather((x, u), **cfg, mode="train")
    k = max(w.shape[-1], 1)
    near = call.batch(margin) < (k + 2) * UNIT_ROUNDOFF[dtype] * 4
    if not near.any():
        return params
    cells = np.where(np.broadcast_to(call.real, w.shape), w, 0.0)
    c = np.cumsum(cells, axis=-1)
    total = c[..., -1:]
    ub = call.batch(u)
    safe = np.where(total > 0, total, 1.0)
    hit = c > ub[..., None] * total
    sel = np.where(hit.any(-1), hit.argmax(-1), k - 1)
    hi = np.take_along_axis(c, sel[..., None], -1)[..., 0]
    lo = np.take_along_axis(np.concatenate([np.zeros_like(total), c], -1), sel[..., None], -1)
    mid = (lo[..., 0] + hi) / 2 / safe[..., 0]
    out = np.where(near & (hi > lo[..., 0]), np.minimum(mid, np.nextafter(1.0, 0.0)), ub)
    return (call.unbatch(out),)


def _first_cell(value):
    return lambda x: np.where(np.arange(x.size).reshape(x.shape) == 0, value, x)


def _u_of_ones(data, case: Case) -> Case:
    """Train mode with every draw ``u = 1`` (of the right shape: C18, not C16)."""
    shape = spec.output_shape(case.op, case.x.shape, **case.cfg)
    cfg = {**case.cfg, "mode": "train"}
    return case.with_x(case.x, params=(np.ones(shape),) + tuple(case.params[1:]), cfg=cfg)


STOCHASTIC_INVALID = (
    Invalid("C18", "a negative input cell", "values", lambda d, c, n: {"x": _first_cell(-1.0)}),
    Invalid("C18", "a NaN input cell", "values", lambda d, c, n: {"x": _first_cell(np.nan)}),
    Invalid("C18", "u = 1 (outside [0, 1))", "u", _u_of_ones, geometry=True),
    Invalid("C16", "no u in train mode", "u", lambda d, c, n: {"mode": "train", "param0": None}),
    MODE_INVALID,
)

STOCHASTIC_POOL = OpInfo(
    "stochastic_pool",
    draw_params=_params,
    draw_options=mode_options,
    prepare_x=_non_negative,
    adjust_params=off_boundaries,
    forward=_forward,
    selects=train,
    exact_jvp=train,
    partials=_partials,
    vjp_bound=_vjp_bound,
    invalid=STOCHASTIC_INVALID,
    forward_regimes=FINITE_REGIMES,
    gradient_regimes=FINITE_REGIMES,
    magnitude_fraction=2.0**-10,
)
