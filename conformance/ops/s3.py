"""S3Pool: stride-1 max pooling, then the kept rows (train: a selection, exact) or the
eval rule's average of them.

The eval value is a linear function of the stride-1 maxima ``m`` with non-negative
weights over ``K`` cells (the spec's eval reducer on the windows of ``m``): the ``sum``
bound, ``(K + 2)(u S + tiny)`` with ``S`` the same reducer on ``|m|``. Derivatives: the
JVP of eval sums ``K`` partials ``>= 0`` times ``m_dot``, so ``(K + 3) u`` of the spec's
JVP along ``|x_dot|``; a cotangent cell gathers from at most ``prod(kernel)`` stride-1
max windows, each off by the average's ``1/D``.
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
    with np.errstate(all="ignore"):
        s = case.record.value(win.absw, win.params, win.call)
    return Allowed.radius(ref, win.unbatch(finite((win.K + 2) * (win.u * s + win.tiny))))


def _jvp_bound(case, tangents) -> np.ndarray:
    u = unit(case.dtype)
    ks = _layout_product(case, "stride")
    with np.errstate(all="ignore"):
        _, mag = spec.jvp(case.op, case.primals, (np.abs(tangents[0]), None), **case.cfg)
    return finite((ks + 3) * u * np.abs(mag) + SMALLEST_SUBNORMAL[case.dtype] * (ks + 2))


def _vjp_bound(case, cotangent) -> np.ndarray:
    kk = _layout_product(case, "kernel")
    if train(case.cfg):
        return selection_vjp_bound(case, cotangent, kk)
    u = unit(case.dtype)
    with np.errstate(all="ignore"):
        mag = spec.vjp(case.op, case.primals, np.abs(cotangent), **case.cfg)[0]
    return finite((kk + 4) * u * np.abs(mag) + SMALLEST_SUBNORMAL[case.dtype] * (kk + 2))


def _params(draw, caps, channels, dtype, purpose):
    if not train(purpose["cfg"]):
        return (None,)
    return (sample("s3_pool", 1, draw, purpose),)


S3_INVALID = (
    Invalid(
        "C21",
        "indices outside their grid",
        "indices",
        lambda d, c, n: {"mode": "train", "param0": lambda i: None if i is None else i + 10**6},
    ),
    Invalid(
        "C16",
        "no indices in train mode",
        "indices",
        lambda d, c, n: {"mode": "train", "param0": None},
    ),
    MODE_INVALID,
)

# the grid of kept rows is not shift-invariant: no translation relation
S3_POOL = OpInfo(
    "s3_pool",
    draw_params=_params,
    draw_options=mode_options,
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
