"""S3Pool: stride-1 max pooling, then the kept rows (train: a selection, exact) or the
eval rule's average of them (``eval_rule``: the expectation over the draws, or the
padded average).

The eval value is a linear function of the stride-1 maxima ``m`` with non-negative
weights over ``K`` cells (the spec's eval reducer on the windows of ``m``): the ``sum``
bound, ``(K + 2)(u S + tiny)`` with ``S`` the same reducer on ``|m|``, plus ``2 d u S``
for weights formed per axis. Derivatives: the JVP of eval sums ``K`` partials ``>= 0``
times ``m_dot``, so ``(K + 3 + 2d) u`` of the spec's JVP along ``|x_dot|``; a cotangent
cell of ``m`` gathers from at most ``prod(per_grid)`` outputs (the expectation) or
``prod(stride)`` (the padded average), a cell of ``x`` from at most ``prod(kernel)``
stride-1 max windows.
"""

from __future__ import annotations

import math

import numpy as np

from ndpool import spec

from ..cases import SMALLEST_SUBNORMAL
from ..record import (
    FINITE_REGIMES,
    MODE_INVALID,
    Invalid,
    OpInfo,
    choose,
    exact_forward,
    mode_options,
    sample,
    train,
)
from ..strategies import s3_geometry
from ..tolerances import Allowed, Windows, finite, selection_vjp_bound, unit


def _layout_product(case, key: str) -> int:
    return math.prod(a[key] for a in spec.s3_layout(case.x.shape, **case.cfg))


def _forward(case, ref) -> Allowed:
    if train(case.cfg):
        return exact_forward(case, ref)
    win = Windows(case)  # the eval windows of the stride-1 max map
    extra = 2 * win.geom.d
    with np.errstate(all="ignore"):
        s = case.record.value(win.absw, win.params, win.call)
    bound = (win.K + 2 + extra) * (win.u * s + win.tiny)
    return Allowed.radius(ref, win.unbatch(finite(bound)))


def _eval_terms(case) -> int:
    """Cells of an eval window (the terms of one output's JVP)."""
    return case.record.geometry(case.x.shape, **case.cfg).window_size


def _jvp_bound(case, tangents) -> np.ndarray:
    u = unit(case.dtype)
    ks = _eval_terms(case) + 2 * case.d
    with np.errstate(all="ignore"):
        _, mag = spec.jvp(case.op, case.primals, (np.abs(tangents[0]), None), **case.cfg)
    return finite((ks + 3) * u * np.abs(mag) + SMALLEST_SUBNORMAL[case.dtype] * (ks + 2))


def _vjp_bound(case, cotangent) -> np.ndarray:
    kk = _layout_product(case, "kernel")
    if train(case.cfg):
        return selection_vjp_bound(case, cotangent, kk)
    u = unit(case.dtype)
    key = "stride" if case.cfg.get("eval_rule") == "padded" else "per_grid"
    terms = kk + _layout_product(case, key) + 2 * case.d
    with np.errstate(all="ignore"):
        mag = spec.vjp(case.op, case.primals, np.abs(cotangent), **case.cfg)[0]
    return finite((terms + 4) * u * np.abs(mag) + SMALLEST_SUBNORMAL[case.dtype] * (terms + 2))


def _params(draw, caps, channels, dtype, purpose):
    if not train(purpose["cfg"]):
        return (None,)
    return (sample("s3_pool", 1, draw, purpose),)


def _indices_outside(data, case):
    """C21: train mode with every sampled index moved far outside its grid (a case drawn in
    eval mode has no indices: they are sampled for it first, else it would break C16)."""
    cfg = {**case.cfg, "mode": "train"}
    i = case.params[0]
    if i is None:
        i = sample("s3_pool", 1, data.draw, {"x_shape": case.x.shape, "cfg": cfg})
    return case.with_x(case.x, params=(i + 10**6,), cfg=cfg)


S3_INVALID = (
    Invalid("C21", "indices outside their grid", "indices", _indices_outside, geometry=True),
    Invalid(
        "C16",
        "no indices in train mode",
        "indices",
        lambda d, c, n: {"mode": "train", "param0": None},
    ),
    MODE_INVALID,
    Invalid("C14", "eval_rule='median'", "eval_rule", lambda d, c, n: {"eval_rule": "median"}),
)


def _options(draw, caps, purpose) -> dict:
    """``mode``, and in eval mode the ``eval_rule``."""
    out = mode_options(draw, caps, purpose)
    if out.get("mode") != "eval":
        return out
    if caps.config_keys is not None and "eval_rule" not in caps.config_keys:
        return out
    return {**out, "eval_rule": choose(draw, caps, "eval_rule", ("expectation", "padded"))}


# the grid of kept rows is not shift-invariant: no translation relation
S3_POOL = OpInfo(
    "s3_pool",
    draw_params=_params,
    draw_options=_options,
    draw_geometry=s3_geometry,
    forward=_forward,
    selects=train,
    exact_jvp=train,
    jvp_bound=_jvp_bound,
    vjp_bound=_vjp_bound,
    invalid=S3_INVALID,
    gradient_regimes=FINITE_REGIMES,
    translation=False,
    monotone=True,
    monotone_slack=True,
    shows_windows=False,
    magnitude_fraction=2.0**-10,
)
