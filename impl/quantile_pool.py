"""Quantile pooling (spec: ``ndpool.spec.quantile_pool``): the root ``m`` of
``sum_i sigma(alpha (m - x_i)) = n q`` over every window's ``n`` real cells.

The solve follows the spec step by step, in float64 for every input dtype
(rounded once to the input dtype, like the spec): Newton's method safeguarded by
bisection inside the bracket ``[min x, max x] + logit(q)/alpha``, on ``F / S`` formed
from the integer count of saturated terms and log-sum-exps of the rest, so it
neither cancels nor underflows; the windows still moving are iterated only.

Derivatives come from the implicit function theorem, never from the solver:
:class:`QuantileRoot` is a custom ``autograd.Function`` whose ``backward`` and
``jvp`` (forward mode, ``torch.func.jvp``) apply, with ``s_i = sigma(z_i) sigma(-z_i)``,
``z_i = alpha (m - x_i)``, ``S = sum s_i`` (weights from a log-sum-exp, so ``S`` does
not underflow)::

    dm/dx_i = s_i / S      dm/dq = n / (alpha S)      dm/dalpha = (sum_i s_i x_i / S - m) / alpha

It is not twice differentiable and has no vmap rule (the solve's loop length
depends on the data).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .layout import unbatch
from .pooler_inputs import channel_input, setup, spec_check, values
from .windows import gather, real_mask

EPS64 = torch.finfo(torch.float64).eps
MAX_ITERATIONS = 5000


def _lse(v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(torch.where(mask, v, float("-inf")), -1)


def _excess(n: torch.Tensor, q: torch.Tensor):
    """``n q`` as ``(hi, lo)`` (Dekker's split of ``q``: both products exact for n < 2**26)."""
    c = q * 134217729.0  # 2**27 + 1
    q_hi = c - (c - q)
    return n * q_hi, n * (q - q_hi)


def _ratio(m, w, real, alpha, nq_hi, nq_lo):
    """``F(m) / S(m)`` without cancellation or underflow (see the spec's ``_ratio``)."""
    z = alpha.unsqueeze(-1) * (m.unsqueeze(-1) - w)
    neg = real & (z < 0)
    pos = real & ~(z < 0)
    log_a = _lse(F.logsigmoid(z), neg)
    log_b = _lse(F.logsigmoid(-z), pos)
    log_s = _lse(F.logsigmoid(z) + F.logsigmoid(-z), real)
    excess = (pos.sum(-1) - nq_hi) - nq_lo
    head = torch.where(excess == 0, 0.0, excess * torch.exp(-log_s))
    return head + torch.exp(log_a - log_s) - torch.exp(log_b - log_s)


def solve(w: torch.Tensor, real: torch.Tensor, q: torch.Tensor, alpha: torch.Tensor):
    """``(m, ok, n, safe_w)`` for float64 windows ``w [..., K]`` and ``q, alpha [...]``:
    the root where it is defined (NaN elsewhere)."""
    n = real.sum(-1)
    finite = ~(real & ~torch.isfinite(w)).any(-1)
    ok = (n > 0) & finite
    safe_w = torch.where(real & finite.unsqueeze(-1), w, 0.0)
    t = (torch.log(q) - torch.log1p(-q)) / alpha
    w_min = torch.where(real, safe_w, float("inf")).amin(-1)
    w_max = torch.where(real, safe_w, float("-inf")).amax(-1)
    lo = torch.where(ok, w_min + t, 0.0)
    hi = torch.where(ok, w_max + t, 0.0)
    m = safe_w.sum(-1) / n.clamp(min=1) + t
    m = torch.where(ok, torch.minimum(torch.maximum(m, lo), hi), 0.0)
    nq_hi, nq_lo = _excess(n.to(q.dtype), q)
    shape, k = m.shape, w.shape[-1]
    m, lo, hi, alpha, nq_hi, nq_lo = (
        a.reshape(-1).clone() for a in (m, lo, hi, alpha.expand(shape), nq_hi, nq_lo)
    )
    cells, mask = safe_w.reshape(-1, k), real.expand(safe_w.shape).reshape(-1, k)
    step_old = hi - lo
    tol = 8 * EPS64 * torch.maximum(lo.abs(), hi.abs())
    done = ~ok.reshape(-1)
    for _ in range(MAX_ITERATIONS):
        act = torch.nonzero(~done).squeeze(-1)  # iterate on the windows still moving only
        if act.numel() == 0:
            break
        ma, la, ha, aa = m[act], lo[act], hi[act], alpha[act]
        r = _ratio(ma, cells[act], mask[act], aa, nq_hi[act], nq_lo[act])
        la = torch.where(r < 0, ma, la)
        ha = torch.where(r > 0, ma, ha)
        step = r / aa
        newton = ma - step
        small = step.abs() <= tol[act]
        good = (newton > la) & (newton < ha) & ((2 * step.abs() <= step_old[act].abs()) | small)
        mid = (la + ha) / 2
        new = torch.where(good, newton, mid)
        step_old[act] = torch.where(good, step, (ha - la) / 2)
        stuck = (mid == la) | (mid == ha)
        converged = (r == 0) | (newton == ma)
        new = torch.where(converged, ma, new)
        done[act] = converged | (new == ma) | stuck | (good & small)
        m[act], lo[act], hi[act] = new, la, ha
    m = torch.where(ok, m.reshape(shape), float("nan"))
    return m, ok, n, safe_w


def root_and_partials(w, real, q, alpha):
    """``(m, dm/dx [..., K], dm/dq, dm/dalpha)`` (float64; NaN / zero conventions as the spec)."""
    m, ok, n, safe_w = solve(w, real, q, alpha)
    safe_m = torch.where(ok, m, 0.0)
    z = alpha.unsqueeze(-1) * (safe_m.unsqueeze(-1) - safe_w)
    logs = F.logsigmoid(z) + F.logsigmoid(-z)
    log_s = _lse(logs, real)
    weights = torch.where(real, torch.exp(logs - log_s.unsqueeze(-1)), 0.0)
    dq = n.clamp(min=1) * torch.exp(-log_s) / alpha
    dalpha = (weights * (safe_w - safe_m.unsqueeze(-1))).sum(-1) / alpha
    bad = ~ok & (n > 0)  # a NaN / infinite cell: NaN derivatives; no real cell: zero
    fallback = torch.where(bad, float("nan"), 0.0)
    dx = torch.where(ok.unsqueeze(-1), weights, fallback.unsqueeze(-1))
    dx = torch.where(real, dx, 0.0)
    return m, dx, torch.where(ok, dq, fallback), torch.where(ok, dalpha, fallback)


class QuantileRoot(torch.autograd.Function):
    """``m(w, q, alpha)`` with implicit-function-theorem derivatives (reverse and forward).

    Inputs: float64 windows ``w [N, C, *O, K]``, the real mask ``[*O, K]``, ``q`` and
    ``alpha`` expanded to ``[N, C, *O]``. Outputs ``(m, dx, dq, dalpha)``; only ``m`` is
    differentiable, the partials are returned so ``setup_context`` can keep them.
    """

    @staticmethod
    def forward(w, real, q, alpha):
        return root_and_partials(w, real.expand(w.shape), q, alpha)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, dx, dq, dalpha = output
        ctx.mark_non_differentiable(dx, dq, dalpha)
        ctx.save_for_backward(dx, dq, dalpha)
        ctx.save_for_forward(dx, dq, dalpha)

    @staticmethod
    def backward(ctx, m_bar, *_):
        dx, dq, dalpha = ctx.saved_tensors
        if m_bar is None:
            return None, None, None, None
        return dx * m_bar.unsqueeze(-1), None, dq * m_bar, dalpha * m_bar

    @staticmethod
    def jvp(ctx, w_dot, real_dot, q_dot, alpha_dot):
        dx, dq, dalpha = ctx.saved_tensors
        m_dot = torch.zeros_like(dq)
        if w_dot is not None:
            m_dot = m_dot + (dx * w_dot).sum(-1)
        if q_dot is not None:
            m_dot = m_dot + dq * q_dot
        if alpha_dot is not None:
            m_dot = m_dot + dalpha * alpha_dot
        return m_dot, None, None, None


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
    plan, xb = setup(x, dict(kernel_size=kernel_size, stride=stride, padding=padding,
                             dilation=dilation, ceil_mode=ceil_mode))  # fmt: skip
    spec_check("quantile_pool", [values(q, 0.5), values(alpha, 1.0)], {})
    f64 = torch.float64
    out = tuple(xb.shape[:2]) + plan.spatial_out
    q, alpha = (
        torch.as_tensor(channel_input(v, xb, plan, name, f64), dtype=f64, device=x.device).expand(
            out
        )
        for v, name in ((q, "q"), (alpha, "alpha"))
    )
    w = gather(xb.to(f64), plan)
    m = QuantileRoot.apply(w, real_mask(plan, x.device), q, alpha)[0]
    return unbatch(m, plan).to(x.dtype)
