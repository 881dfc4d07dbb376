"""Shared cases and tolerances for the impl-vs-spec tests of the issue-6 poolers (no tests here).

Every check compares ``ndpool.impl`` (torch) with ``ndpool.spec`` (NumPy, float64
inside, rounded once to the input dtype) on the *same* inputs, random draws
included (drawn once with the spec's own samplers and handed to both); the impl
is never compared with itself.

Tolerances (``u_c`` = unit roundoff of the impl's compute dtype: 2^-53 for
float64, 2^-24 for float32, float16 and bfloat16 which compute in float32;
``u_o`` = unit roundoff of the output dtype; ``K`` = window cells):

- selections (median; stochastic, Gumbel and s3 train values; indices) only copy
  an input cell: **exact** in every dtype (Gumbel: where the spec's best two scores
  are further apart than the score rounding, see ``gumbel_margin_ok``);
- rounding reducers: a window reduction of ``K`` terms (a sum, a softmax, a dot
  product) evaluated in the compute dtype has forward error at most
  ``(K + 16) u_c * scale`` (``gamma_K`` of a recursive sum plus at most 16 roundings
  for exp / log / pow / sigmoid / divide per term), with ``scale`` bounding the
  magnitude of the terms; the spec is within ``u_o |y|`` of the exact value
  (float64 inside, one rounding) and the impl within ``u_o |y|`` of its compute
  result, so ``|impl - spec| <= (K + 16) (u_c + 2^-53) scale + 2 u_o |spec|``
  (``u_o`` counts only where the output is narrower than the compute dtype).
  ``scale`` per op (``X = max |x|`` of the case):

  - soft / Gumbel eval / stochastic eval / GeM / mixed: ``X`` (a convex
    combination or mean of cells, or for GeM of ``max(x, eps)``);
  - gated: ``X (1 + K W X)`` with ``W = max |omega|``: the gate argument ``omega . x``
    (magnitude ``K W X``) is off by ``(K + 16) u K W X`` and moves ``y`` by at most
    ``|dy/dz| <= (M - A) / 4 <= X / 2`` per unit;
  - tree: ``K V X (1 + K W X)`` with ``V = max |v1|, |v2|`` (the leaf dot products);
  - quantile (solved in float64 for every dtype): the solver stops where the
    Newton step ``(F/S)/alpha`` is within rounding; ``F/S`` is a sum of ``n`` terms
    of magnitude <= 1 divided by ``S``, so its error is ``(K + 16) u n / S`` and the
    root's is that over ``alpha``: ``(K + 16) u (n / (alpha S))`` = ``(K + 16) u dm/dq``
    -- the spec's own ``dm/dq`` -- plus ``(K + 16) u X`` for the cells themselves.

- derivatives (float64 only): a JVP / VJP entry is a sum of at most ``K`` products
  of a partial and a tangent (or, through the scatter, of ``K`` window
  contributions), each partial carrying the forward's relative error, so
  ``(K + 16) u_64 * K * G * (1 + max |expected|)`` with the growth ``G`` of the
  op's partials in its inputs (``G = 1`` for soft / mixed / GeM / stochastic eval /
  Gumbel, ``1 + K W X`` for gated and tree, and ``1 + alpha (X + dm/dq)`` for quantile,
  whose weights ``s_i / S`` depend on the root with slope up to ``alpha``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ndpool import impl, spec

U = {
    torch.float64: 2.0**-53,
    torch.float32: 2.0**-24,
    torch.float16: 2.0**-11,
    torch.bfloat16: 2.0**-8,
}
DTYPES = tuple(U)
GEOMETRY = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

# (spatial shape, geometry): ranks 1..4, padding forms, ceil_mode, dilation (incl. windows
# without a real cell), per-axis kernels
SLIDING = [
    ((9,), dict(kernel_size=3, stride=1, padding=1)),
    ((10,), dict(kernel_size=4, stride=3, ceil_mode=True)),
    ((7, 6), dict(kernel_size=2)),
    ((7, 6), dict(kernel_size=(3, 2), stride=2, padding=((1, 0), (0, 1)), ceil_mode=True)),
    ((7, 7), dict(kernel_size=3, stride=2, dilation=3, padding=3)),  # all-padding windows
    ((5, 4, 6), dict(kernel_size=2, stride=(1, 2, 2), padding=(1, 0, 1))),
    ((4, 3, 4, 5), dict(kernel_size=2, stride=2, ceil_mode=True)),
]
# s3: (spatial shape, config); stride defaults to kernel_size, grid_size to stride
S3 = [
    ((8,), dict(kernel_size=2, grid_size=4)),
    ((9, 8), dict(kernel_size=2, grid_size=(4, 2))),
    ((8, 8), dict(kernel_size=3, stride=2, padding=1, grid_size=4)),
    ((6, 4, 9), dict(kernel_size=2, dilation=(1, 1, 2))),
]

# op -> the modes its cases run in (None: the op has no mode option)
MODES = {
    "quantile_pool": (None,),
    "median_pool": (None,),
    "mixed_pool": (None,),
    "gated_pool": (None,),
    "tree_pool": (None,),
    "stochastic_pool": ("train", "eval"),
    "s3_pool": ("train", "eval"),
    "gumbel_pool": ("train", "eval"),
    "soft_pool": (None,),
    "gem_pool": (None,),
}
CASES = [(op, mode) for op, modes in MODES.items() for mode in modes]


def case_id(op, mode) -> str:
    return op if mode is None else f"{op}-{mode}"


def geom_id(shape, cfg) -> str:
    return f"{len(shape)}d-" + "-".join(f"{k}={v}" for k, v in cfg.items()).replace(" ", "")


def geometries(op):
    return S3 if op == "s3_pool" else SLIDING


def window_size(op, x_shape, cfg) -> int:
    if op == "s3_pool":
        lay = spec.s3_layout(x_shape, **cfg)
        return max(math.prod(a["kernel"] for a in lay), math.prod(a["stride"] for a in lay))
    d = spec.geometry.spatial_rank(len(x_shape), cfg["kernel_size"])
    return math.prod(spec.geometry.per_axis(cfg["kernel_size"], d, "kernel_size", "C2"))


def make_x(op, shape, rng: np.random.Generator, batch=(2, 3)) -> np.ndarray:
    """Input values for ``op``: small integers (many exact ties) for the selecting and
    blending ops, N(0, 1) for the smooth ones, non-negative with zeros for stochastic."""
    full = tuple(batch) + tuple(shape)
    if op == "stochastic_pool":
        x = rng.integers(0, 4, full).astype(np.float64) * rng.random(full)
        return np.where(rng.random(full) < 0.15, 0.0, x)
    if op in ("median_pool", "mixed_pool", "s3_pool"):
        return rng.integers(-3, 4, full).astype(np.float64)
    if op == "gem_pool":
        return np.abs(rng.normal(size=full)) * np.where(rng.random(full) < 0.1, -1, 1)
    return rng.normal(size=full)


def make_params(op, channels: int, k: int, rng, per_channel: bool) -> list:
    """The differentiable parameters after ``x`` in the spec's order (float64 arrays)."""
    c = (channels,) if per_channel else ()
    w = (channels, k) if per_channel else (k,)
    if op == "quantile_pool":
        return [rng.uniform(0.15, 0.85, c), rng.uniform(0.5, 4.0, c)]
    if op == "mixed_pool":
        return [rng.normal(size=c)]
    if op == "gated_pool":
        return [0.3 * rng.normal(size=w)]
    if op == "tree_pool":
        return [rng.normal(size=w) / k, rng.normal(size=w) / k, 0.3 * rng.normal(size=w)]
    if op == "gumbel_pool":
        return [rng.uniform(0.5, 2.0, c)]
    if op == "gem_pool":
        return [rng.uniform(1.0, 4.0, c)]
    return []


def make_case(op, mode, shape, cfg, seed, batched=True, per_channel=True):
    """``(x, params, draws, cfg)``: numpy inputs in the spec's positional order, the
    draws from the spec's own samplers (``None`` in eval mode)."""
    rng = np.random.default_rng(seed)
    x = make_x(op, shape, rng)
    if not batched:
        x = x[0]
    cfg = dict(cfg) if mode is None else {**cfg, "mode": mode}
    if isinstance(cfg["kernel_size"], int):  # an unbatched rank needs a sequence kernel
        cfg["kernel_size"] = (cfg["kernel_size"],) * len(shape)
    k = window_size(op, x.shape, cfg)
    params = make_params(op, x.shape[-len(shape) - 1], k, rng, per_channel)
    draws = []
    for s in spec.OPS[op].input_specs[1:]:
        if s.sampler is not None:
            draws.append(s.sampler(rng, x.shape, **cfg) if mode == "train" else None)
    return x, params, draws, cfg


def spec_inputs(params, draws) -> list:
    return [*params, *draws]


def torch_inputs(x, params, draws, dtype=torch.float64, grad=False):
    """``(x, params, draws)`` as tensors: x and params in ``dtype``, draws as the spec
    keeps them (float64 draws, int64 indices); ``grad`` makes x and params leaves."""
    xt = torch.tensor(x, dtype=dtype, requires_grad=grad)
    pt = [torch.tensor(p, dtype=dtype, requires_grad=grad) for p in params]
    dt = [None if d is None else torch.from_numpy(np.asarray(d)) for d in draws]
    return xt, pt, dt


def to_numpy(t) -> np.ndarray:
    t = t.detach()
    return (t.float() if t.dtype == torch.bfloat16 else t).cpu().numpy()


def rounded(a, dtype) -> np.ndarray:
    """``a`` rounded to a torch dtype, back in float64 (what the spec sees of that input)."""
    return to_numpy(torch.tensor(np.asarray(a, dtype=np.float64)).to(dtype)).astype(np.float64)


def is_exact(op, mode) -> bool:
    return op == "median_pool" or (mode == "train" and op in ("stochastic_pool", "s3_pool"))


def _max_abs(*arrays) -> float:
    finite = [np.asarray(a, dtype=np.float64) for a in arrays]
    finite = [np.where(np.isfinite(a), a, 0.0) for a in finite]  # the finite entries' scale
    vals = [np.abs(a).max(initial=0.0) for a in finite]
    return max(vals, default=0.0)


def growth(op, x, params) -> float:
    """The op's error growth beyond its cells' magnitude (see the module docstring)."""
    k_x = _max_abs(x)
    if op in ("gated_pool", "tree_pool"):
        omega = params[-1]
        return 1.0 + np.asarray(omega).shape[-1] * _max_abs(omega) * k_x
    return 1.0


def forward_tolerance(op, x, params, cfg, expected, dtype, dq=None):
    """The bound of the module docstring for the forward value."""
    k = window_size(op, np.shape(x), cfg)
    big_x = _max_abs(x)
    scale = big_x * growth(op, x, params)
    if op == "tree_pool":
        scale *= k * _max_abs(params[0], params[1])
    if op == "quantile_pool":  # solved in float64 for every dtype, rounded once
        scale = big_x + np.abs(np.nan_to_num(dq, posinf=0.0))
        u_c = U[torch.float64]
        u_o = 0.0 if dtype == torch.float64 else U[dtype]
    else:  # float64 computes in float64, every other dtype in float32
        u_c = U[torch.float64] if dtype == torch.float64 else U[torch.float32]
        u_o = U[dtype] if dtype in (torch.float16, torch.bfloat16) else 0.0
    exp = np.abs(np.nan_to_num(np.asarray(expected, dtype=np.float64), posinf=0.0, neginf=0.0))
    return (k + 16) * (u_c + U[torch.float64]) * scale + 2 * u_o * exp


def derivative_tolerance(op, x, params, cfg, expected, dq=None):
    """The float64 derivative bound of the module docstring."""
    k = window_size(op, np.shape(x), cfg)
    g = growth(op, x, params)
    if op == "quantile_pool":
        g = 1.0 + _max_abs(params[1]) * (_max_abs(x) + _max_abs(dq))
    return (k + 16) * U[torch.float64] * k * g * (1.0 + _max_abs(expected))


def assert_close(actual, expected, tol, what: str, exact=False, mask=None):
    """Same NaN pattern; equal (``exact``) or within ``tol`` (where ``mask``, if given)."""
    a = to_numpy(actual).astype(np.float64) if isinstance(actual, torch.Tensor) else actual
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, expected {e.shape}"
    keep = np.ones(e.shape, bool) if mask is None else np.broadcast_to(mask, e.shape)
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    diff_nan = keep & (nan_a != nan_e)
    assert not diff_nan.any(), (
        f"{what}: NaN pattern differs at {np.argwhere(diff_nan)[:4].tolist()} "
        f"(impl {a[diff_nan][:4]}, spec {e[diff_nan][:4]})"
    )
    ok = keep & ~nan_e
    with np.errstate(invalid="ignore"):
        if exact:
            bad = ok & (a != e)
        else:
            bad = ok & (a != e) & ~(np.abs(a - e) <= np.broadcast_to(tol, e.shape))
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} of {e.size} differ; first at {np.argwhere(bad)[0].tolist()}: "
        f"impl {a[bad][:4]}, spec {e[bad][:4]}, tol {np.broadcast_to(tol, e.shape)[bad][:4]}"
    )


def impl_fn(op):
    return impl.OPS[op]


def spec_fn(op):
    return spec.OPS[op].function
