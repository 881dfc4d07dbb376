"""Quantile pooling (spec: ``ndpool.spec.quantile``): the root ``m`` of
``sum_i sigma(alpha (m - x_i)) = n q`` over every window's ``n`` real cells.

The solve follows the spec step by step, in float64 for every input dtype
(rounded once to the input dtype, like the spec): Newton's method safeguarded by
bisection inside the bracket ``[min x, max x] + logit(q)/alpha``, on ``F / S`` formed
from the integer count of saturated terms and log-sum-exps of the rest, so it
neither cancels nor underflows; the windows still moving are iterated only.

Derivatives come from the implicit function theorem, never from the solver:
:class:`~ndpool.impl.partials.ExplicitPartials` applies (reverse and forward mode,
``torch.func`` included), with ``s_i = sigma(z_i) sigma(-z_i)``,
``z_i = alpha (m - x_i)``, ``S = sum s_i`` (weights from a log-sum-exp, so ``S`` does
not underflow)::

    dm/dx_i = s_i / S      dm/dq = n / (alpha S)      dm/dalpha = (sum_i s_i x_i / S - m) / alpha

It is not twice differentiable (a second derivative through it raises an error naming
that, never a silent zero) and has no vmap rule (the solve's loop length depends on the
data).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .inputs import channel_input, check_values, sliding_input, unbatch
from .partials import ExplicitPartials
from .windows import gather, real_mask

EPS64 = torch.finfo(torch.float64).eps
MAX_ITERATIONS = 5000


def _lse(v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked log-sum-exp over the window axis, which comes first (``[K, M]``): a
    reduction over the outer axis runs vectorized across windows, unlike one over a
    trailing axis of two or three cells."""
    v = torch.where(mask, v, float("-inf"))
    top = v.amax(0)
    top = torch.where(torch.isfinite(top), top, 0.0)
    return torch.log(torch.exp(v - top).sum(0)) + top


def _log_sigmoids(z: torch.Tensor):
    """``(log sigma(z), log sigma(-z))`` from one ``log sigma(-|z|)``: the smaller of the
    two is that value itself, the larger ``log1p(-sigma(-|z|))`` (accurate: the argument
    is at most 1/2)."""
    small = F.logsigmoid(-z.abs())
    large = torch.log1p(-torch.exp(small))
    neg = z < 0
    return torch.where(neg, small, large), torch.where(neg, large, small)


def _excess(n: torch.Tensor, q: torch.Tensor):
    """``n q`` as ``(hi, lo)`` (Dekker's split of ``q``: both products exact for n < 2**26)."""
    c = q * 134217729.0  # 2**27 + 1
    q_hi = c - (c - q)
    return n * q_hi, n * (q - q_hi)


def _ratio(m, w, real, alpha, nq_hi, nq_lo):
    """``(F(m) / S(m), scale)`` without cancellation or underflow (see the spec's
    ``_ratio``); ``w`` and ``real`` are ``[K, M]``, the rest ``[M]``."""
    z = alpha * (m - w)
    log_p, log_n = _log_sigmoids(z)
    neg = real & (z < 0)
    pos = real & ~(z < 0)
    log_a = _lse(log_p, neg)
    log_b = _lse(log_n, pos)
    log_s = _lse(log_p + log_n, real)
    excess = (pos.sum(0) - nq_hi) - nq_lo
    head = torch.where(excess == 0, 0.0, excess * torch.exp(-log_s))
    a, b = torch.exp(log_a - log_s), torch.exp(log_b - log_s)
    return head + a - b, head.abs() + a + b


def solve(w: torch.Tensor, real: torch.Tensor, q: torch.Tensor, alpha: torch.Tensor):
    """``(m, ok, n)`` for float64 windows ``w [K, M]`` (window axis first; cells that
    are not real, or of a window with a NaN / infinite cell, are 0), the real mask
    ``real [K, M]`` and ``q, alpha [M]``: the root where it is defined (NaN elsewhere)."""
    n = real.sum(0)
    t = (torch.log(q) - torch.log1p(-q)) / alpha
    w_min = torch.where(real, w, float("inf")).amin(0)
    w_max = torch.where(real, w, float("-inf")).amax(0)
    ok = n > 0
    lo = torch.where(ok, w_min + t, 0.0)
    hi = torch.where(ok, w_max + t, 0.0)
    m = w.sum(0) / n.clamp(min=1) + t
    m = torch.where(ok, torch.minimum(torch.maximum(m, lo), hi), 0.0)
    nq_hi, nq_lo = _excess(n.to(q.dtype), q)
    step_old = hi - lo
    tol = 8 * EPS64 * torch.maximum(lo.abs(), hi.abs())
    done = ~ok
    total = m.numel()
    for _ in range(MAX_ITERATIONS):
        act = torch.nonzero(~done).squeeze(-1)  # iterate on the windows still moving only
        if act.numel() == 0:
            break
        # no gathering while every window moves
        rows = None if act.numel() == total else act

        def take(a, axis=0, rows=rows):
            return a if rows is None else a.index_select(axis, rows)

        ma, la, ha, aa = take(m), take(lo), take(hi), take(alpha)
        r, scale = _ratio(ma, take(w, 1), take(real, 1), aa, take(nq_hi), take(nq_lo))
        la = torch.where(r < 0, ma, la)
        ha = torch.where(r > 0, ma, ha)
        step = r / aa
        newton = ma - step
        small = step.abs() <= take(tol) + 8 * EPS64 * scale / aa  # noise: as the spec
        good = (newton > la) & (newton < ha) & ((2 * step.abs() <= take(step_old).abs()) | small)
        mid = (la + ha) / 2
        new = torch.where(good, newton, mid)
        moved = torch.where(good, step, (ha - la) / 2)
        stuck = (mid == la) | (mid == ha)
        converged = (r == 0) | (newton == ma)
        new = torch.where(converged, ma, new)
        finished = converged | (new == ma) | stuck | (good & small)
        if rows is None:
            step_old, done, m, lo, hi = moved, finished, new, la, ha
        else:
            step_old[act], done[act] = moved, finished
            m[act], lo[act], hi[act] = new, la, ha
    return torch.where(ok, m, float("nan")), ok, n


def root_and_partials(w, real, q, alpha):
    """``(m, dm/dx [..., K], dm/dq, dm/dalpha)`` for float64 windows ``w [..., K]`` with
    ``q, alpha [...]`` (NaN / zero conventions as the spec)."""
    shape, k = w.shape[:-1], w.shape[-1]
    real = real.expand(w.shape)
    finite = ~(real & ~torch.isfinite(w)).any(-1)
    # window axis first, windows flattened: [K, M]
    cells = torch.where(real & finite.unsqueeze(-1), w, 0.0).reshape(-1, k).t().contiguous()
    mask = real.reshape(-1, k).t().contiguous()
    q, alpha = (a.expand(shape).reshape(-1) for a in (q, alpha))
    ok_finite = finite.reshape(-1)
    m, ok, n = solve(cells, mask & ok_finite, q, alpha)
    ok = ok & ok_finite
    m = torch.where(ok, m, float("nan"))
    safe_m = torch.where(ok, m, 0.0)
    log_p, log_n = _log_sigmoids(alpha * (safe_m - cells))
    logs = log_p + log_n
    log_s = _lse(logs, mask)
    weights = torch.where(mask, torch.exp(logs - log_s), 0.0)
    dq = n.clamp(min=1) * torch.exp(-log_s) / alpha
    dalpha = (weights * (cells - safe_m)).sum(0) / alpha
    n = mask.sum(0)
    bad = ~ok & (n > 0)  # a NaN / infinite cell: NaN derivatives; no real cell: zero
    fallback = torch.where(bad, float("nan"), 0.0)
    dx = torch.where(ok, weights, fallback)
    dx = torch.where(mask, dx, 0.0).t().reshape(w.shape)
    return (
        m.reshape(shape),
        dx,
        torch.where(ok, dq, fallback).reshape(shape),
        torch.where(ok, dalpha, fallback).reshape(shape),
    )


def quantile_pool(
    x: torch.Tensor,
    q,
    alpha,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """The root ``m`` of ``sum_i sigma(alpha (m - x_i)) = n q`` over every window's real cells.

    >>> import torch
    >>> quantile_pool(torch.tensor([[[1.0, 3.0, 2.0, 2.0, 0.0, 7.0]]]), 0.5, 1.0, kernel_size=2)
    tensor([[[2.0000, 2.0000, 3.5000]]])
    """
    plan, xb = sliding_input(x, dict(kernel_size=kernel_size, stride=stride, padding=padding,
                             dilation=dilation, ceil_mode=ceil_mode))  # fmt: skip
    check_values("quantile_pool", {"q": q, "alpha": alpha}, {})
    f64 = torch.float64
    out = tuple(xb.shape[:2]) + plan.spatial_out
    q, alpha = (
        torch.as_tensor(channel_input(v, xb, plan, name, f64), dtype=f64, device=x.device).expand(
            out
        )
        for v, name in ((q, "q"), (alpha, "alpha"))
    )
    w = gather(xb.to(f64), plan)
    real = real_mask(plan, x.device)
    m = ExplicitPartials.apply(
        lambda w, q, alpha, real: root_and_partials(w, real, q, alpha),
        "quantile_pool",
        1,
        w,
        q,
        alpha,
        real,
    )[0]
    return unbatch(m, plan).to(x.dtype)
