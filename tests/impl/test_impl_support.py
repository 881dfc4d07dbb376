"""Shared cases and assertions for the impl-vs-spec tests (no tests in here).

Every check compares ``ndpool.impl`` (torch) with ``ndpool.spec`` (NumPy,
float64 inside, rounded once to the input dtype); the impl is never compared
with itself.

Tolerances. With unit roundoff ``u`` of the compute dtype (2^-53 float64,
2^-24 float32), a window reduction of ``K`` cells (``K = prod(kernel)``) done
as a chain of sums / log-sum-exps / pows has a forward error bounded by about
``(K + c) u`` times the magnitude of the terms (``gamma_K`` of a recursive sum,
plus a few roundings for the divide, ``pow`` / ``exp`` / ``log`` and the final
scaling): ``|impl - spec| <= (K + 8) * u * scale`` with ``scale`` the op applied
to ``|x|`` (avg: the mean of |x| over the real cells, times K/|D| with a
divisor_override D; Lp: the window's max of |x|, since ``y <= K^(1/p) max|x|``;
smooth max: the window's max of |x| plus ``log(K)/beta``, the largest the log
term ``(1/beta) log sum exp(beta (x_i - m))`` can be). For float16
and bfloat16 the impl computes in float32 and rounds once, and the spec rounds
its float64 result once: both are within half an ulp of the exact value plus
the float32 error, so they differ by at most one ulp of the 16-bit type at
the result's magnitude: ``2 * u16 * |spec| + (K + 8) * u32 * scale``
(u16 = 2^-11 float16, 2^-8 bfloat16). Max-like values and indices only select
input cells and compare exactly in every dtype. (``+inf`` and NaN must match
exactly in all cases.)
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ndpool import impl, spec

NAN, INF = float("nan"), float("inf")

UNIT_ROUNDOFF = {
    torch.float64: 2.0**-53,
    torch.float32: 2.0**-24,
    torch.float16: 2.0**-11,
    torch.bfloat16: 2.0**-8,
}

# (spatial shape, geometry config): ranks 1..5, padding forms, ceil_mode, dilation
SLIDING = [
    ((9,), dict(kernel_size=3, stride=1, padding=1)),
    ((9,), dict(kernel_size=(2,), stride=2, ceil_mode=True)),
    ((10,), dict(kernel_size=3, stride=2, dilation=2, padding="same")),
    ((7, 6), dict(kernel_size=3, stride=1, padding=1)),
    ((7, 6), dict(kernel_size=2)),
    ((7, 6), dict(kernel_size=(3, 2), stride=2, padding=((1, 0), (0, 1)), ceil_mode=True)),
    ((7, 7), dict(kernel_size=3, stride=1, dilation=3, padding=3)),  # all-padding windows
    ((8, 7), dict(kernel_size=5, stride=1, padding=2)),
    ((5, 4, 6), dict(kernel_size=3, stride=1, padding=1)),
    ((5, 4, 6), dict(kernel_size=2, stride=2, ceil_mode=True)),
    ((5, 6, 6), dict(kernel_size=(1, 3, 3), padding=(0, 1, 1), stride=1)),
    ((4, 3, 4, 5), dict(kernel_size=2, stride=1)),
    ((4, 3, 5, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((3, 3, 4, 3, 4), dict(kernel_size=2, stride=1, padding=((1, 0), 0, 0, (0, 1), 1))),
]

ADAPTIVE = [((9,), (4,)), ((7, 6), (3, None)), ((5, 4, 6), (2, 3, 4)), ((4, 3, 5, 5), 2)]

# (op, extra positional params, op options)
OP_CASES = [
    ("max_pool", (), {}),
    ("avg_pool", (), {}),
    ("avg_pool", (), {"count_include_pad": False}),
    ("avg_pool", (), {"divisor_override": 3}),
    ("lp_pool", (2.0,), {}),
    ("lp_pool", (1.5,), {}),
    ("lp_pool", (INF,), {}),
    ("lp_pool", (1.0,), {"sign": "signed"}),
    ("smooth_max_pool", (2.0,), {}),
    ("smooth_max_pool", (0.5,), {"padding_policy": "zero"}),
]


def case_id(shape, cfg) -> str:
    return f"{len(shape)}d-" + "-".join(f"{k}={v}" for k, v in cfg.items()).replace(" ", "")


def make_input(shape, seed: int, kind: str = "ties", batch=(2, 3), dtype=torch.float64):
    """``[*batch, *shape]``: 'ties' draws from a few integers (many exact ties), 'normal'
    from N(0, 1), 'special' adds NaN, +inf and -inf cells to 'ties'."""
    g = torch.Generator().manual_seed(seed)
    full = tuple(batch) + tuple(shape)
    if kind == "normal":
        x = torch.randn(full, generator=g, dtype=torch.float64)
    else:
        x = torch.randint(-3, 4, full, generator=g).to(torch.float64)
    if kind == "special":
        flat = x.view(-1)
        picks = torch.randperm(flat.numel(), generator=g)[: max(3, flat.numel() // 15)]
        for i, p in enumerate(picks.tolist()):
            flat[p] = (NAN, INF, -INF)[i % 3]
    return x.to(dtype)


def spec_call(op: str, x: torch.Tensor, params, cfg, return_indices=False):
    """The spec on ``x`` (bfloat16 through its float32 values)."""
    xn = to_numpy(x)
    kw = dict(cfg, return_indices=True) if return_indices else cfg
    return spec.OPS[op].function(xn, *[np.asarray(p) for p in params], **kw)


def impl_call(op: str, x: torch.Tensor, params, cfg, return_indices=False):
    kw = dict(cfg, return_indices=True) if return_indices else cfg
    return impl.OPS[op](x, *params, **kw)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach()
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.cpu().numpy()


def window_volume(cfg) -> int:
    k = cfg.get("kernel_size", 1)
    return math.prod(k) if isinstance(k, tuple) else k**3


def scale_of(op: str, x: torch.Tensor, cfg) -> np.ndarray:
    """The magnitude the rounding error is relative to (see the module docstring)."""
    a = np.abs(to_numpy(x).astype(np.float64))
    a = np.where(np.isfinite(a), a, 0.0)
    if op == "avg_pool" and "output_size" not in cfg:
        geo = {k: cfg[k] for k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
               if k in cfg}  # fmt: skip
        return spec.avg_pool(a, **geo, count_include_pad=False)
    if op == "adaptive_avg_pool":
        return spec.adaptive_avg_pool(a, output_size=cfg["output_size"])
    if "output_size" in cfg:
        return spec.adaptive_max_pool(a, output_size=cfg["output_size"])
    geo = {k: cfg[k] for k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
           if k in cfg}  # fmt: skip
    return np.maximum(spec.max_pool(a, **geo), 0)


def tolerance(op: str, x: torch.Tensor, cfg, expected: np.ndarray, dtype, params=()):
    k = window_volume(cfg)
    scale = np.nan_to_num(scale_of(op, x, cfg), nan=0.0, posinf=0.0)
    if op == "smooth_max_pool":  # y = m + log(sum)/beta: the log term is up to log(K)/beta
        scale = scale + math.log(k) / np.min(np.asarray(params[0], dtype=np.float64))
    if op == "avg_pool" and cfg.get("divisor_override"):
        scale = scale * k / abs(cfg["divisor_override"])
    if dtype in (torch.float16, torch.bfloat16):
        exp = np.abs(np.nan_to_num(expected.astype(np.float64), posinf=0.0, neginf=0.0))
        return 2 * UNIT_ROUNDOFF[dtype] * exp + (k + 8) * UNIT_ROUNDOFF[torch.float32] * scale
    return (k + 8) * UNIT_ROUNDOFF[dtype] * scale + 1e-300


def assert_matches(actual, expected, *, exact: bool, tol=None, what: str = ""):
    """Same NaN pattern, same infinities, and equal (exact) or within ``tol``."""
    a = to_numpy(actual).astype(np.float64)
    e = np.asarray(expected).astype(np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, expected {e.shape}"
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    assert (nan_a == nan_e).all(), (
        f"{what}: NaN at {np.argwhere(nan_a != nan_e)[:5].tolist()} differs "
        f"(impl {a[nan_a != nan_e][:5]}, spec {e[nan_a != nan_e][:5]})"
    )
    ok = ~nan_e
    with np.errstate(invalid="ignore"):
        _assert_values(a, e, ok, exact, tol, what)


def _assert_values(a, e, ok, exact, tol, what):
    if exact:
        bad = ok & (a != e)
    else:
        inf = ok & np.isinf(e)
        bad = (inf & (a != e)) | (ok & ~inf & ~(np.abs(a - e) <= np.broadcast_to(tol, e.shape)))
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} of {e.size} differ; first at {np.argwhere(bad)[0].tolist()}: "
        f"impl {a[bad][:4]}, spec {e[bad][:4]}"
    )
