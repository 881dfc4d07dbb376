"""Gumbel-softmax pooling: a temperature-driven stochastic max, with the noise explicit.

Inputs: ``x``; a learnable ``temperature`` ``T > 0`` (differentiable: a scalar, one
per channel ``[C]``, or one per channel and output position ``[C, *O]`` shared by the
batch -- the source learns one per pooling patch); the Gumbel noise ``g``
(``[N, C, *O, K]``, one draw per window cell, *not* differentiable; draw it as
``g = -log(-log U)``, ``U ~ Uniform(0, 1)``).
Padded cells are absent (as for max): their noise is ignored.

``mode="train"`` (default)::

    i* = first argmax_i (x_i / T + g_i)   over the real cells (first-maximizer rule,
                                          the scores computed as x_i / T + g_i in float64)
    y  = x_{i*}

The **JVP and VJP in train mode are a straight-through estimator**, not the
derivative of the forward value (which is piecewise constant in ``T``). With
``pi = softmax(x / T + g)``, the soft sample ``y~ = sum_i pi_i x_i`` and ``h`` the
one-hot of ``i*``, ``estimator`` names which:

- ``"hard"`` (default; the source's, torch's ``gumbel_softmax(hard=True)``): the
  output is ``sum_i h~_i x_i`` with ``h~ = h - stop_gradient(pi) + pi``, whose
  derivatives are::

    dy/dx_j = h_j + pi_j (x_j - y~) / T
    dy/dT   = -sum_i pi_i x_i (x_i - y~) / T^2

- ``"soft"``: the derivatives of the soft sample itself,
  ``dy/dx_j = pi_j (1 + (x_j - y~) / T)`` and the same ``dy/dT``.

So ``spec.jvp`` returns the hard value ``x_{i*}`` together with the estimator's
tangent; they are still an adjoint pair (``<JVP v, u> = <v, VJP u>``). For ``x =
[1, 3]``, ``T = 1``, ``g = [0.2, -0.1]`` the hard estimator's ``dy/dx`` is
``[-0.261, 1.261]``, the soft one's ``[-0.107, 1.107]``.

``mode="eval"``: deterministic ``y = sum_i softmax(x / T)_i x_i`` (no noise; ``g``
may be ``None`` and is ignored; the source's inference rule, a weighted sum as in
stochastic pooling) with the soft formulas at ``g = 0``, which are then the true
derivatives (``estimator`` does not apply). ``T = 1`` in eval mode is SoftPool.

A window with no real cell is NaN with zero derivatives.
"""

from __future__ import annotations

import math

import numpy as np

from . import numeric as nm
from .constraints import fail
from .geometry import SLIDING_KEYS, sliding_axes
from .op import MODE, InputSpec, Op, Option, one_hot, pick
from .selection import first_maximizer
from .soft import soft_sample

ESTIMATORS = ("hard", "soft")


def _scores(w, params, call):
    temperature, g = params
    t = np.broadcast_to(temperature, w.shape[:-1])
    scores = w / t[..., None]
    if call.options["mode"] == "train":
        scores = scores + g
    return t, scores


def _soft(w, params, call):
    t, scores = _scores(w, params, call)
    return soft_sample(w, scores, call.real, t)


def _select(w, params, call):
    _, scores = _scores(w, params, call)
    return first_maximizer(scores, call.real)


def _value(w, params, call):
    if call.options["mode"] == "train":
        return pick(w, _select(w, params, call), nm.const("nan", w))
    return _soft(w, params, call)[0]


def _partials(w, params, call):
    """``(dy/dw, dy/dT)`` of the estimator: the soft sample's, and for the hard estimator
    (train mode) ``dy/dw_j`` with ``pi_j`` traded for the one-hot ``h_j``."""
    _, dw, dt = _soft(w, params, call)
    if call.options["mode"] == "train" and call.options["estimator"] == "hard":
        _, scores = _scores(w, params, call)
        real = np.broadcast_to(call.real, w.shape)
        pi, _ = nm.masked_softmax(scores, real)
        sel = first_maximizer(scores, call.real)
        one = np.broadcast_to(nm.const(1, w), sel.shape).astype(w.dtype)
        dw = np.where(real, dw - pi + one_hot(sel, w.shape[-1], one), nm.zeros_like(w))
    return dw, dt


def _jvp(w, params, call, w_dot, param_dots):
    dw, dt = _partials(w, params, call)
    return (dw * w_dot).sum(axis=-1) + dt * param_dots[0]


def _vjp(w, params, call, y_bar):
    dw, dt = _partials(w, params, call)
    return dw * y_bar[..., None], dt * y_bar, None


def _float(a):
    a = np.asarray(a)
    return np.array([float(v) for v in a.ravel()]) if a.dtype == object else a.astype(float)


def _check(params, options):
    temperature, g = params
    t = _float(temperature)
    if not np.isfinite(t).all() or (t <= 0).any():
        raise fail("C19", f"temperature={t.ravel().tolist()} must be finite and > 0")
    if g is None:
        if options["mode"] == "train":
            raise fail("C16", 'gumbel_pool(mode="train") needs the Gumbel noise g [N, C, *O, K]')
    elif options["mode"] == "train" and not np.isfinite(_float(g)).all():
        raise fail("C19", "the Gumbel noise g must be finite")


def sample_gumbel(rng: np.random.Generator, x_shape, **cfg) -> np.ndarray:
    """Standard Gumbel noise ``-log(-log U)``, one per window cell of every output."""
    cfg.pop("return_indices", None)
    out = GUMBEL_POOL.output_shape(tuple(x_shape), **cfg)
    full = GUMBEL_POOL.config(cfg)
    d = GUMBEL_POOL.rank(len(x_shape), full)
    geometry = {key: full[key] for key in SLIDING_KEYS}
    k = math.prod(sliding_axes(tuple(x_shape)[-d:], **geometry).kernel)
    return rng.gumbel(size=out + (k,))


GUMBEL_POOL = Op(
    name="gumbel_pool",
    empty_window="NaN in both modes, derivatives 0.",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    options=(MODE, Option("estimator", "hard", ESTIMATORS)),
    check=_check,
    input_specs=(
        InputSpec("x", "x"),
        InputSpec("temperature", "position", domain="finite, > 0"),
        InputSpec(
            "g",
            "cell",
            differentiable=False,
            domain="finite; Gumbel(0, 1) draws -log(-log U); ignored in eval mode",
            optional=True,
            sampler=sample_gumbel,
        ),
    ),
)


@GUMBEL_POOL.defines
def gumbel_pool(
    x,
    temperature,
    g=None,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    mode: str = "train",
    estimator: str = "hard",
):
    """``x_{i*}`` with ``i* = argmax(x / T + g)`` (train; derivatives: the ``"hard"`` or
    ``"soft"`` straight-through ``estimator``) or ``sum softmax(x / T)_i x_i`` (eval)
    over the real cells of every window (see the module doc).

    >>> import numpy as np
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    >>> g = np.array([[[[5.0, 0.0], [0.0, 0.0]]]])            # noise per window cell
    >>> gumbel_pool(x, 1.0, g, kernel_size=2)                 # scores [6 2] [3 4]
    array([[[1., 4.]]])
    >>> y = gumbel_pool(x, 1.0, kernel_size=2, mode="eval")
    >>> bool(np.allclose(y, [[[1 + 1 / (1 + np.e ** -1), 3 + 1 / (1 + np.e ** -1)]]]))
    True

    The hard straight-through derivative: the one-hot plus ``pi_j (x_j - y~) / T``:

    >>> from ndpool.spec import vjp
    >>> x2, g2 = np.array([[[1.0, 3.0]]]), np.array([[[[0.2, -0.1]]]])
    >>> vjp("gumbel_pool", (x2, 1.0, g2), np.ones((1, 1, 1)), kernel_size=2)[0].round(3)
    array([[[-0.261,  1.261]]])
    >>> vjp("gumbel_pool", (x2, 1.0, g2), np.ones((1, 1, 1)), kernel_size=2,
    ...     estimator="soft")[0].round(3)
    array([[[-0.107,  1.107]]])
    """
    return GUMBEL_POOL.forward(
        x,
        temperature,
        g,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        mode=mode,
        estimator=estimator,
    )


def selection_margin(x, temperature, g, **cfg) -> np.ndarray:
    """The gap between the best and the second-best score ``x_i / T + g_i`` of every
    window (``inf`` with fewer than two real cells): a target that forms the scores in
    another precision can only pick a different cell where this is a few ulps.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    >>> g = np.array([[[[5.0, 0.0], [0.0, 0.0]]]])            # scores [6 2] [3 4]
    >>> selection_margin(x, 1.0, g, kernel_size=2)
    array([[[4., 1.]]])
    """
    cfg.pop("mode", None)
    cfg.pop("estimator", None)
    call, w, params = GUMBEL_POOL.gather((x, temperature, g), **{**cfg, "mode": "train"})
    _, scores = _scores(w, params, call)
    real = np.broadcast_to(call.real, w.shape)
    ranked = np.sort(np.where(real, scores, -np.inf), axis=-1)
    if w.shape[-1] < 2:
        return call.unbatch(np.full(w.shape[:-1], np.inf))
    with np.errstate(invalid="ignore"):
        gap = ranked[..., -1] - ranked[..., -2]
    gap = np.where(real.sum(axis=-1) >= 2, gap, np.inf)
    return call.unbatch(gap)
