"""Stochastic pooling (Zeiler and Fergus, 2013), with the uniform draw explicit.

The input must be finite and non-negative (constraint C18: a negative, NaN or
infinite cell anywhere in ``x`` is an error naming the first offending value).
For the real cells ``x_1..x_n`` of a window in row-major window order (padded
cells are absent: probability 0) let ``p_i = x_i / S``, ``S = sum_i x_i``.

``mode="train"`` (default) takes one uniform draw ``u`` in ``[0, 1)`` per output
position (``[N, C, *O]``, not differentiable) and picks by the inverse CDF:

    c_k = x_1 + ... + x_k         (running sum in window order, float64)
    S   = c_n                     (the same running sum, so c_n == S exactly)
    l   = the first k with c_k > u * S        (strict: a cell with x_k = 0 is never picked)
          (if rounding leaves none, the last cell with x_k > 0)
    y   = x_l

i.e. cell ``k`` is picked exactly when ``c_{k-1} <= u S < c_k``, probability
``p_k``. An all-zero window (``S = 0``, also a window with no real cell) gives
``y = 0``. Derivatives: ``y_dot = x_dot_l``, ``x_bar_l += y_bar`` (the pick is
piecewise constant in ``x``); zero for an all-zero window.

``mode="eval"``: the probability-weighted average, no draw (``u`` may be
``None`` and is ignored)::

    y = sum_i p_i x_i = sum_i x_i^2 / S,        dy/dx_j = (2 x_j - y) / S

with ``y = 0`` and a zero derivative where ``S = 0``.
"""

from __future__ import annotations

import numpy as np

from . import numeric as nm
from .constraints import fail
from .op import MODE, InputSpec, Op, one_hot, pick


def _select(w, params, call):
    """The picked cell ``l`` (-1 for an all-zero window)."""
    (u,) = params
    real = np.broadcast_to(call.real, w.shape)
    cells = np.where(real, w, nm.zeros_like(w))
    if w.shape[-1] == 0:
        return np.full(w.shape[:-1], -1)
    c = np.cumsum(cells, axis=-1)
    total = c[..., -1]
    hit = c > (u * total)[..., None]
    positive = cells > 0
    last = w.shape[-1] - 1 - np.argmax(positive[..., ::-1], axis=-1)
    sel = np.where(hit.any(axis=-1), hit.argmax(axis=-1), last)
    return np.where(total > 0, sel, -1)


def eval_partials(w, call):
    """Eval mode: ``(y, dy/dx [..., K])`` of ``sum x_i^2 / sum x_i``, in units of the
    window's scale ``M`` (the power of two above its largest cell, so ``x / M`` is
    exact): ``y = M sum r_i^2 / S`` and ``dy/dx_j = (2 r_j - y / M) / S`` with
    ``r = x / M``, ``S = sum r_i``. No square and no quotient over- or underflows where
    ``y`` does not (``x_i^2`` of a float32 ``1e-30`` is 0 in float32, ``1e-300``'s in
    float64)."""
    real = np.broadcast_to(call.real, w.shape)
    cells = np.where(real, w, nm.zeros_like(w))
    m = nm.pow2_ceiling(np.maximum(nm.masked_max(cells, real), nm.const(0, cells)))
    safe_m = np.where(m > 0, m, nm.const(1, m))
    r = cells / safe_m[..., None]
    total = nm.masked_sum(r, real)
    pos = total > 0
    safe = np.where(pos, total, nm.const(1, total))
    y_r = np.where(pos, nm.masked_sum(r * r, real) / safe, nm.zeros_like(total))
    dx = np.where(real & pos[..., None], (2 * r - y_r[..., None]) / safe[..., None], 0 * cells)
    return y_r * safe_m, dx


def _value(w, params, call):
    if call.options["mode"] == "train":
        return pick(w, _select(w, params, call), nm.const(0, w))
    return eval_partials(w, call)[0]


def _jvp(w, params, call, w_dot, param_dots):
    if call.options["mode"] == "train":
        return pick(w_dot, _select(w, params, call), 0)
    return (eval_partials(w, call)[1] * w_dot).sum(axis=-1)


def _vjp(w, params, call, y_bar):
    if call.options["mode"] == "train":
        return one_hot(_select(w, params, call), w.shape[-1], y_bar), None
    return eval_partials(w, call)[1] * y_bar[..., None], None


def _floats(a):
    a = np.asarray(a)
    return np.array([float(v) for v in a.ravel()]) if a.dtype == object else a.ravel()


def _check(params, options):
    (u,) = params
    if u is None:
        if options["mode"] == "train":
            raise fail("C16", 'stochastic_pool(mode="train") needs the uniform draw u [N, C, *O]')
        return
    if options["mode"] == "train":
        uv = _floats(u)
        bad = ~((uv >= 0) & (uv < 1))
        if bad.any():
            raise fail("C18", f"the uniform draw u must lie in [0, 1); got {uv[bad][0]!r}")


def _validate(xb, params, call):
    xv = _floats(xb)
    bad = ~(np.isfinite(xv) & (xv >= 0))
    if bad.any():
        first = int(np.argmax(bad))
        where = np.unravel_index(first, xb.shape)
        where = where if call.batched else where[1:]
        raise fail(
            "C18",
            f"stochastic_pool needs finite, non-negative input (probabilities x_i / sum x); "
            f"x{list(map(int, where))} = {xv[first]!r}",
        )


def sample_u(rng: np.random.Generator, x_shape, **cfg) -> np.ndarray:
    """One ``Uniform[0, 1)`` draw per output position (the ``u`` input)."""
    cfg.pop("return_indices", None)
    return rng.random(STOCHASTIC_POOL.output_shape(tuple(x_shape), **cfg))


STOCHASTIC_POOL = Op(
    name="stochastic_pool",
    empty_window="0 in both modes (an all-zero window, S = 0), derivatives 0.",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    options=(MODE,),
    check=_check,
    validate=_validate,
    exact=lambda cfg: cfg["mode"] == "train",
    input_specs=(
        InputSpec("x", "x", domain="finite, >= 0"),
        InputSpec(
            "u",
            "output",
            differentiable=False,
            domain="[0, 1) uniform draws; ignored in eval mode",
            optional=True,
            sampler=sample_u,
        ),
    ),
)


@STOCHASTIC_POOL.defines
def stochastic_pool(
    x,
    u=None,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    mode: str = "train",
):
    """Pick ``x_l`` with probability ``x_l / sum x`` by the inverse CDF at ``u`` (train),
    or ``sum x_i^2 / sum x_i`` (eval), over the real cells of every window.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 3.0, 0.0, 0.0, 2.0, 2.0]]])     # windows [1 3] [0 0] [2 2]
    >>> stochastic_pool(x, np.array([[[0.3, 0.9, 0.5]]]), kernel_size=2)
    array([[[3., 0., 2.]]])
    >>> stochastic_pool(x, np.array([[[0.24, 0.0, 0.49]]]), kernel_size=2)
    array([[[1., 0., 2.]]])
    >>> stochastic_pool(x, kernel_size=2, mode="eval")      # (1 + 9)/4, 0, (4 + 4)/4
    array([[[2.5, 0. , 2. ]]])

    In the first window ``c = [1, 4]``, so cell 0 owns ``u`` in ``[0, 0.25)``: ``u = 0.3``
    (``u S = 1.2``) picks cell 1, ``u = 0.24`` cell 0, and ``u = 0.25`` would be cell 1. In the
    third window (``c = [2, 4]``) ``u = 0.5`` gives ``u S = 2``, not ``< c_1 = 2``: cell 1.
    """
    return STOCHASTIC_POOL.forward(
        x,
        u,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        mode=mode,
    )


def selection_margin(x, u, **cfg) -> np.ndarray:
    """How far every draw ``u`` lies from the nearest CDF boundary ``c_k / S``, in units of
    ``u`` (``inf`` for an all-zero window): a target that sums in another order or
    precision can only pick a different cell where this is a few ulps. For test
    generators that want to avoid (or study) such draws.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 3.0]]])                       # boundaries at u = 0.25 and 1
    >>> selection_margin(x, np.array([[[0.3]]]), kernel_size=2).round(12)
    array([[[0.05]]])
    """
    cfg.pop("mode", None)
    call, w, (u_b,) = STOCHASTIC_POOL.gather((x, u), **{**cfg, "mode": "train"})
    real = np.broadcast_to(call.real, w.shape)
    cells = np.where(real, w, 0 * w)
    c = np.cumsum(cells, axis=-1)
    total = c[..., -1] if w.shape[-1] else np.zeros(w.shape[:-1])
    safe = np.where(total > 0, total, 1)
    with np.errstate(invalid="ignore"):
        gap = np.abs(c / safe[..., None] - u_b[..., None]).min(axis=-1, initial=np.inf)
    return call.unbatch(np.where(total > 0, gap, np.inf))
