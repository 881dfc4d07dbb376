"""Window gather for the non-separable reducers: ``[N, C, *S] -> [N, C, *O, K]``.

Quantile, median, gated/tree, stochastic, Gumbel and soft pooling reduce a window
with a function that is not associative over its axes, so they need every
window's cells side by side (the spec's "gather" step). :func:`gather` builds
them from the same per-axis ``unfold`` views as the separable reductions
(:func:`ndpool.impl.separable.sliding_windows`), one axis after the other, so the
taps end up in row-major window order; the final reshape is the one K-fold copy.
Autograd, forward mode and ``torch.func`` see plain views, so the scatter back to
the input (the VJP of gather) is autograd's.

Selection helpers shared by the selecting poolers (median, stochastic, Gumbel,
mixed's max): a selection is a window-local index ``sel`` (``-1`` = none) and
:func:`pick` reads the selected cell, so the value, the index output, the JVP and
the VJP all follow the one selection.
"""

from __future__ import annotations

import functools
import math

import torch

from .geometry import Plan
from .separable import sliding_windows

NEG_INF = float("-inf")


def gather(xb: torch.Tensor, plan: Plan, fill: float = 0.0) -> torch.Tensor:
    """The cells of every window of a batched input, ``[N, C, *O, K]`` (row-major taps).

    Padded and ceil_mode overhang cells hold ``fill``; :func:`real_mask` says which
    cells are real.
    """
    t = xb
    for a, ax in enumerate(plan.axes):
        t = sliding_windows(t, 2 + a, ax, fill)  # appends this axis' taps at the end
    return t.reshape(tuple(t.shape[: 2 + plan.d]) + (plan.window_size,))


#: Index maps of at most this many cells are cached (a few MiB in all); larger ones are
#: built per call, at the cost of the gather they serve.
CACHED_INDEX_CELLS = 2**16


def _build_plane_index(plan: Plan) -> torch.Tensor:
    # a plain tensor even inside torch.func transforms (whose factory functions return
    # tensors wrapped at the current level): the cache outlives the transform
    if torch.compiler.is_compiling() or torch._C._functorch.maybe_current_level() is None:
        return _plane_index(plan)
    with torch._C._DisableFuncTorch():
        return _plane_index(plan)


def _plane_index(plan: Plan) -> torch.Tensor:
    plane = math.prod(plan.spatial_in)
    index = torch.arange(plane, dtype=torch.int64).view(plan.spatial_in)
    for a, ax in enumerate(plan.axes):
        index = sliding_windows(index, a, ax, -1)
    return index.reshape(plan.spatial_out + (plan.window_size,)).contiguous()


_cached_plane_index = functools.lru_cache(maxsize=64)(_build_plane_index)


def plane_index(plan: Plan, device) -> torch.Tensor:
    """``[*O, K]`` int64: the flat ``[*S]`` index of every window cell (-1: padding)."""
    small = math.prod(plan.spatial_out) * plan.window_size <= CACHED_INDEX_CELLS
    return (_cached_plane_index if small else _build_plane_index)(plan).to(device)


def real_mask(plan: Plan, device) -> torch.Tensor:
    """``[*O, K]`` bool: which window cells are real input cells."""
    return plane_index(plan, device) >= 0


def pick(w: torch.Tensor, sel: torch.Tensor, empty: float) -> torch.Tensor:
    """``w[..., sel]`` along the window axis (differentiable in ``w``); ``empty`` where
    ``sel == -1``."""
    got = w.gather(-1, sel.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return torch.where(sel >= 0, got, torch.full((), empty, dtype=w.dtype, device=w.device))


def first_true(hit: torch.Tensor) -> torch.Tensor:
    """Index of the first true cell along the last axis (-1 if none)."""
    first = hit.to(torch.uint8).argmax(-1)  # argmax returns the first maximal index
    return torch.where(hit.any(-1), first, -1)


def first_maximizer(scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The spec's winner rule over the real cells (``ndpool.spec.selection``): the first
    NaN, else the first maximizer in row-major window order, else -1 (no real cell).

    ``torch.max(dim)`` returns the first maximal index and ranks NaN highest, first
    occurrence first. A padded cell (-inf) can only tie the real maximum when that is
    -inf too; the first real cell is taken then, so padding stays absent.
    """
    s = torch.where(real, scores.detach(), NEG_INF)
    value, sel = s.max(-1)
    real = real.expand(s.shape)
    sel = torch.where(value == NEG_INF, first_true(real), sel)
    return torch.where(real.any(-1), sel, -1)


def masked_sum(w: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Sum over the real cells of every window."""
    return torch.where(real, w, 0.0).sum(-1)


def real_count(real: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``[*O]`` number of real cells, in ``like``'s dtype."""
    return real.sum(-1).to(like.dtype)


def flat_index(sel: torch.Tensor, plan: Plan) -> torch.Tensor:
    """PyTorch-style flat ``[*S]`` index of the selected cell (-1 where ``sel == -1``)."""
    index = plane_index(plan, sel.device).expand(sel.shape + (plan.window_size,))
    got = index.gather(-1, sel.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return torch.where(sel >= 0, got, -1)


def pow2_ceiling(a: torch.Tensor) -> torch.Tensor:
    """A power of two in ``(a, 2a]`` per element (capped at the dtype's largest; 0, inf and
    NaN kept): the scale of a window whose largest ``|cell|`` is ``a``, as the spec's
    scaled forms use it. Dividing by it is exact, so a scaled sum rounds as the unscaled
    one would where that is in range (a signed sum that cancels exactly stays 0)."""
    _, e = torch.frexp(a)
    top = math.frexp(torch.finfo(a.dtype).max)[1] - 1  # 2**top is finite
    up = torch.ldexp(torch.ones_like(a), e.clamp(max=top))
    return torch.where((a == 0) | ~torch.isfinite(a), a, up)
