"""Smooth max pooling: ``y = (1/beta) log sum_i exp(beta x_i)`` over every window.

``beta > 0`` is a positional, differentiable input (a scalar or one per
channel); as beta grows, y tends to the max, and y >= max. Which cells take part
is an explicit policy:

- ``padding_policy="zero"`` (default): every cell inside the padded extent takes
  part, padded ones with the value 0 (a ceil_mode overhang never does) -- the
  zero-padding convention the N-D pooling specification this project follows
  uses for average and smooth pooling alike;
- ``padding_policy="ignore"``: the real cells only; a window with no real cell
  is -inf (the log of an empty sum), as for max.

Computed stably as ``y = m + (1/beta) log sum_i exp(beta (x_i - m))`` with ``m``
the max of the taking-part cells. NaN propagates; +inf gives +inf.

Derivatives, with the softmax weights ``p_i = exp(beta (x_i - y))``::

    dy/dx_i  = p_i                                (real cells)
    dy/dbeta = (sum_i p_i x_i - y) / beta         (all taking-part cells)

evaluated as ``p_i = exp(beta (x_i - m)) / sum_j exp(beta (x_j - m))`` and
``dy/dbeta = (sum_i p_i (x_i - m) - (y - m)) / beta``: the same numbers, but near the
dtype's largest value ``y`` cannot hold ``y - m = log(K)/beta`` (it rounds to ``m``), and
``sum_i p_i x_i`` formed from such weights overflows.

Where y is infinite the derivatives are 0; where it is NaN they are NaN.
"""

from __future__ import annotations

import numpy as np

from . import numeric as nm
from .constraints import fail
from .op import InputSpec, Op, Option

POLICIES = ("ignore", "zero")


def _present(call):
    if call.options["padding_policy"] == "zero":
        return call.in_extent
    return call.real


def _value_and_weights(w, beta, call):
    """``(y, p, present, d, lse)``: the value, the softmax weights ``p`` (0 where y is
    infinite), the taking-part cells and, for the beta partial, ``d = x - m`` and
    ``lse = y - m`` (``m`` the max; both exact where ``y`` itself cannot hold ``lse``:
    ``log(K)/beta`` vanishes in the rounding of a ``y`` near the dtype's largest value)."""
    present = np.broadcast_to(_present(call), w.shape)
    cand = np.where(present, w, nm.const("-inf", w))
    m = cand.max(axis=-1)
    shift = np.where(nm.isfinite(m), m, nm.zeros_like(m))
    b = beta[..., None]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        d = cand - shift[..., None]
        e = np.where(present, nm.exp(b * d), nm.zeros_like(w))
        total = e.sum(axis=-1)
        lse = nm.log(total) / beta
        y = shift + lse
        finite = nm.isfinite(y)
        p = np.where(
            present, e / np.where(finite, total, nm.const(1, total))[..., None], nm.zeros_like(w)
        )
    p = np.where(finite[..., None], p, _nan_or_zero(y)[..., None])
    return y, p, present, d, lse


def _nan_or_zero(y):
    """NaN where ``y`` is NaN, else 0: the derivative where y is not finite."""
    return np.where(nm.isnan(y), y, nm.zeros_like(y))


def _value(w, params, call):
    return _value_and_weights(w, params[0], call)[0]


def _partials(w, params, call):
    """``(dy/dx, dy/dbeta)``; ``dy/dbeta = (sum_i p_i (x_i - m) - (y - m)) / beta``, the
    formula above with the max ``m`` taken out of both terms (the weights sum to 1), so
    that neither ``sum_i p_i x_i`` overflows nor ``y``'s rounding hides ``y - m``."""
    (beta,) = params
    y, p, present, d, lse = _value_and_weights(w, beta, call)
    dw = np.where(call.real, p, nm.zeros_like(w))
    finite = nm.isfinite(y)
    with np.errstate(invalid="ignore"):
        spread = np.where(present & (p != 0), p * d, nm.zeros_like(w)).sum(axis=-1)  # 0 (-inf) = 0
        dbeta = np.where(
            finite, (spread - np.where(finite, lse, nm.zeros_like(lse))) / beta, _nan_or_zero(y)
        )
    return dw, dbeta


def _jvp(w, params, call, w_dot, param_dots):
    dw, dbeta = _partials(w, params, call)
    return (dw * w_dot).sum(axis=-1) + dbeta * param_dots[0]


def _vjp(w, params, call, y_bar):
    dw, dbeta = _partials(w, params, call)
    return dw * y_bar[..., None], dbeta * y_bar


def _check(params, options):
    (beta,) = params
    b = np.asarray(beta, dtype=np.float64)
    if not np.isfinite(b).all() or (b <= 0).any():
        raise fail("C11", f"beta={beta.ravel().tolist()} must be finite and > 0")


SMOOTH_MAX_POOL = Op(
    name="smooth_max_pool",
    empty_window=(
        "padding_policy='zero' (the default): not empty for this op, its n cells inside "
        "the padded extent take part as zeros, y = log(n) / beta, dy/dbeta = -log(n) / "
        "beta^2, dy/dx = 0; padding_policy='ignore': -inf (the log of an empty sum), "
        "derivatives 0."
    ),
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    input_specs=(InputSpec("x", "x"), InputSpec("beta", "channel", domain="finite, > 0")),
    options=(Option("padding_policy", "zero", POLICIES),),
    check=_check,
)


@SMOOTH_MAX_POOL.defines
def smooth_max_pool(
    x,
    beta,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    padding_policy: str = "zero",
):
    """``(1/beta) log sum exp(beta x)`` over every window (see the module doc).

    >>> import numpy as np
    >>> x = np.array([[[0.0, 0.0, 1.0, 1.0]]])
    >>> y = smooth_max_pool(x, 1.0, kernel_size=2, stride=2)    # log 2, 1 + log 2
    >>> np.allclose(y, [[[np.log(2), 1 + np.log(2)]]])
    True
    >>> z = smooth_max_pool(x, 1.0, kernel_size=2, padding=1, stride=4)  # [pad 0] [1 pad]
    >>> np.allclose(z, [[[np.log(2), np.log(np.e + 1)]]])       # padded cells are zeros
    True
    >>> v = smooth_max_pool(x, 1.0, kernel_size=2, padding=1, stride=4, padding_policy="ignore")
    >>> np.allclose(v, [[[0.0, 1.0]]])                          # padded cells are absent
    True
    """
    return SMOOTH_MAX_POOL.forward(
        x,
        beta,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        padding_policy=padding_policy,
    )
