"""Quantile pooling: the implicit, differentiable ``q``-quantile of every window.

For the real cells ``x_1..x_n`` of a window (padded cells are absent, as for
max), the output ``m`` is the unique root of::

    F(m) = sum_i sigma(alpha (m - x_i)) - n q = 0,        q in (0, 1), alpha > 0

with ``sigma`` the logistic function. ``q`` and ``alpha`` are positional,
differentiable inputs (a scalar or one per channel). As ``alpha`` grows, ``m``
tends to a hard ``q``-quantile; ``q = 0`` or ``1`` has no finite root and is an
error (constraint C17), never a silent clamp.

Numerics (float64 to full precision; object arrays of ``mpmath.mpf`` to the
working precision):

- the root lies in the bracket ``[min x + logit(q)/alpha, max x + logit(q)/alpha]``
  (there every ``sigma`` term is ``<= q``, resp. ``>= q``); the solver is Newton's
  method safeguarded by bisection inside that bracket (the ``rtsafe`` rule),
  iterated until the iterate stops moving;
- ``F`` is evaluated as ``(P - n q) + sum_{z_i < 0} sigma(z_i) - sum_{z_i >= 0} sigma(-z_i)``
  (``P`` = number of cells with ``z_i >= 0``; ``n q`` kept exact by a Dekker
  split of ``q``), so a saturated ``sigma`` never cancels against ``q``: the
  saturated parts are the integer ``P``; the two sums of positive terms are
  carried as logarithms, and the solver works with ``F / S``, which keeps its
  sign and its Newton step where every term underflows (e.g. ``x = [0, 1e6]``,
  ``q = 1/2``: the root ``5e5`` is where ``e^(m - 1e6) = e^(-m)``);
- the derivative weights use ``log s_i = log sigma(z_i) + log sigma(-z_i)`` and a
  log-sum-exp, so ``S = sum_i s_i`` cannot underflow to 0 (large ``alpha``).

Derivatives (implicit function theorem; ``z_i = alpha (m - x_i)``,
``s_i = sigma(z_i) sigma(-z_i)``, ``S = sum_i s_i``)::

    dm/dx_i   = s_i / S
    dm/dq     = n / (alpha S)
    dm/dalpha = (sum_i s_i x_i / S - m) / alpha

A window with no real cell is NaN with zero derivatives; a window with a NaN
or infinite real cell is NaN with NaN derivatives.
"""

from __future__ import annotations

import numpy as np

from . import numeric as nm
from .constraints import fail
from .op import InputSpec, Op


def _float(a) -> np.ndarray:
    return (
        np.asarray(a, dtype=np.float64)
        if np.asarray(a).dtype != object
        else np.asarray([float(v) for v in np.ravel(a)])
    )


def _mp_eps():
    import mpmath

    return mpmath.mp.eps


def _excess(n, q):
    """``n q`` as an unevaluated pair ``(hi, lo)`` (Dekker's split of ``q``: both products
    are exact for ``n < 2**26``), so ``P - n q`` loses nothing for an integer ``P``."""
    if q.dtype == object:
        return n * q, 0 * q
    c = q * 134217729.0  # 2**27 + 1
    q_hi = c - (c - q)
    return n * q_hi, n * (q - q_hi)


def _ratio(m, w, real, alpha, nq):
    """``(F(m) / S(m), scale)``, from quantities that neither cancel nor underflow;
    ``scale`` is the sum of the magnitudes of the three terms below, so the rounding
    noise of ``F / S`` is a few ulps of it.

    With ``P`` = the number of real cells with ``z_i >= 0``,
    ``F = (P - n q) + sum_{z_i < 0} sigma(z_i) - sum_{z_i >= 0} sigma(-z_i)``: the
    saturated part of every sigma is the integer ``P``, and the two sums are of
    positive terms. Both sums and ``S`` are carried as logarithms, so
    ``F / S = (P - n q) e^-logS + e^(log a - logS) - e^(log b - logS)`` keeps its sign
    and its Newton step even where every term underflows (the last two terms are
    bounded by 2). ``F / S`` has the sign of ``F``; the Newton step is ``(F/S) / alpha``.
    """
    z = alpha[..., None] * (m[..., None] - w)
    neg = real & (z < 0)
    pos = real & ~(z < 0)
    _, log_a = nm.masked_softmax(nm.log_sigmoid(z), neg)
    _, log_b = nm.masked_softmax(nm.log_sigmoid(-z), pos)
    _, log_s = nm.masked_softmax(nm.log_sigmoid(z) + nm.log_sigmoid(-z), real)
    big = pos.sum(axis=-1)
    excess = (big - nq[0]) - nq[1]
    with np.errstate(over="ignore", invalid="ignore"):
        head = np.where(excess == 0, nm.zeros_like(m), excess * nm.exp(-log_s))
        a, b = nm.exp(log_a - log_s), nm.exp(log_b - log_s)
        r = head + a - b
    return r, abs(head) + a + b


def _solve(w, real, alpha, q):
    """``(m, ok, n)``: the root for every window, where it is defined, the real-cell count.

    Newton's method on ``F`` safeguarded by bisection (Numerical Recipes' ``rtsafe``
    rule): the Newton point is taken only inside the current bracket and when it
    at least halves the step before last; otherwise the bracket is bisected.
    Iterates until the iterate stops moving (float64: adjacent floats at worst).
    """
    real = np.broadcast_to(real, w.shape)
    n = real.sum(axis=-1)
    alpha = np.broadcast_to(alpha, n.shape)
    q = np.broadcast_to(q, n.shape)
    finite = ~(real & ~nm.isfinite(w)).any(axis=-1)
    ok = (n > 0) & finite
    safe_w = np.where(real & finite[..., None], w, nm.zeros_like(w))
    t = nm.logit(q) / alpha
    lo = np.where(ok, nm.masked_min(safe_w, real) + t, nm.zeros_like(t))
    hi = np.where(ok, nm.masked_max(safe_w, real) + t, nm.zeros_like(t))
    nq = _excess(n, q)
    nsafe = np.maximum(n, 1)
    m = nm.masked_sum(safe_w, real) / nsafe + t
    m = np.where(ok, np.minimum(np.maximum(m, lo), hi), nm.zeros_like(t))
    # a Newton step as small as the rounding noise, which is eps times the window's
    # scale (in m) plus eps times the scale of F / S's terms (over alpha), is taken and
    # ends the iteration (the error after it is of its square); without the second term
    # a root near m = 0 ends in bisection steps against a bracket end at the noise floor
    eps = _mp_eps() if m.dtype == object else np.finfo(np.float64).eps
    shape, k = m.shape, w.shape[-1]
    flat = [np.ravel(a).copy() for a in (m, lo, hi, alpha, nq[0], nq[1])]
    m, lo, hi, alpha, nq_hi, nq_lo = flat
    cells, mask = safe_w.reshape(-1, k), real.reshape(-1, k)
    step_old = hi - lo
    tol = 8 * eps * np.maximum(abs(lo), abs(hi))
    done = ~np.ravel(ok)
    for _ in range(5000):
        act = np.flatnonzero(~done)  # iterate on the windows still moving only
        if act.size == 0:
            break
        ma, la, ha, aa = m[act], lo[act], hi[act], alpha[act]
        r, scale = _ratio(ma, cells[act], mask[act], aa, (nq_hi[act], nq_lo[act]))
        la = np.where(r < 0, ma, la)
        ha = np.where(r > 0, ma, ha)
        with np.errstate(invalid="ignore", over="ignore"):
            step = r / aa
            newton = ma - step
            small = abs(step) <= tol[act] + 8 * eps * scale / aa
            good = (newton > la) & (newton < ha) & ((2 * abs(step) <= abs(step_old[act])) | small)
        mid = (la + ha) / 2
        new = np.where(good, newton, mid)
        step_old[act] = np.where(good, step, (ha - la) / 2)
        stuck = (mid == la) | (mid == ha)
        converged = (r == 0) | (newton == ma)  # the step is below half an ulp of m
        new = np.where(converged, ma, new)
        done[act] = converged | (new == ma) | stuck | (good & small)
        m[act], lo[act], hi[act] = new, la, ha
    m = m.reshape(shape)
    return np.where(ok, m, nm.const("nan", m)), ok, n


def derivatives(w, params, call):
    """``(m, dm/dx [.., K], dm/dq, dm/dalpha)``."""
    q, alpha = params
    real = np.broadcast_to(call.real, w.shape)
    m, ok, n = _solve(w, real, alpha, q)
    alpha_b = np.broadcast_to(alpha, m.shape)
    safe_m = np.where(ok, m, nm.zeros_like(m))
    safe_w = np.where(real & ok[..., None], w, nm.zeros_like(w))
    z = alpha_b[..., None] * (safe_m[..., None] - safe_w)
    logs = nm.log_sigmoid(z) + nm.log_sigmoid(-z)
    weights, log_s = nm.masked_softmax(logs, real)
    dx = weights
    with np.errstate(over="ignore"):
        dq = np.maximum(n, 1) * nm.exp(-log_s) / alpha_b
    dalpha = nm.masked_sum(weights * (safe_w - safe_m[..., None]), real) / alpha_b
    nan = nm.const("nan", m)
    bad = ~ok & (n > 0)  # a NaN / infinite cell: NaN derivatives
    zero = nm.zeros_like(m)
    dx = np.where(ok[..., None], dx, np.where(bad, nan, zero)[..., None])
    dx = np.where(real, dx, nm.zeros_like(w))
    dq = np.where(ok, dq, np.where(bad, nan, zero))
    dalpha = np.where(ok, dalpha, np.where(bad, nan, zero))
    return m, dx, dq, dalpha


def _value(w, params, call):
    q, alpha = params
    return _solve(w, call.real, alpha, q)[0]


def _jvp(w, params, call, w_dot, param_dots):
    _, dx, dq, dalpha = derivatives(w, params, call)
    q_dot, alpha_dot = param_dots
    return (dx * w_dot).sum(axis=-1) + dq * q_dot + dalpha * alpha_dot


def _vjp(w, params, call, y_bar):
    _, dx, dq, dalpha = derivatives(w, params, call)
    return dx * y_bar[..., None], dq * y_bar, dalpha * y_bar


def _check(params, options):
    q, alpha = (_float(p) for p in params)
    if np.isnan(q).any() or (q <= 0).any() or (q >= 1).any():
        raise fail(
            "C17",
            f"q={q.ravel().tolist()} must lie strictly inside (0, 1): q = 0 or 1 has no "
            "finite root of sum sigma(alpha (m - x_i)) = n q",
        )
    if not np.isfinite(alpha).all() or (alpha <= 0).any():
        raise fail("C17", f"alpha={alpha.ravel().tolist()} must be finite and > 0")


QUANTILE_POOL = Op(
    name="quantile_pool",
    empty_window="NaN (F has no term, so no root), derivatives 0.",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    check=_check,
    input_specs=(
        InputSpec("x", "x"),
        InputSpec("q", "channel", domain="(0, 1)"),
        InputSpec("alpha", "channel", domain="finite, > 0"),
    ),
)


@QUANTILE_POOL.defines
def quantile_pool(
    x,
    q,
    alpha,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
):
    """The root ``m`` of ``sum_i sigma(alpha (m - x_i)) = n q`` over every window's
    ``n`` real cells (see the module doc for the numerics and the derivatives).

    >>> import numpy as np
    >>> x = np.array([[[1.0, 3.0, 2.0, 2.0, 0.0, 7.0]]])
    >>> quantile_pool(x, 0.5, 1.0, kernel_size=2)      # K = 2, q = 1/2: the mean
    array([[[2. , 2. , 3.5]]])
    >>> c = quantile_pool(np.full((1, 1, 3), 2.0), 0.75, 4.0, kernel_size=3)
    >>> bool(np.isclose(c[0, 0, 0], 2.0 + np.log(3) / 4))   # constant: c + logit(q)/alpha
    True
    >>> y = quantile_pool(np.array([[[0.0, 1.0, 10.0]]]), 0.5, 50.0, kernel_size=3)
    >>> bool(abs(y[0, 0, 0] - 1.0) < 1e-12)                # large alpha: the hard median
    True
    """
    return QUANTILE_POOL.forward(
        x,
        q,
        alpha,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
