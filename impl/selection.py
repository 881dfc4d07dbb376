"""Winner selection, separably: the first maximizer of every window, NaN first.

The spec's rule (``ndpool.spec.selection``): the winner is the first NaN among
the real cells in row-major window order, else the first real maximizer, else
none (-1). Here it is computed one axis at a time, innermost axis first, each
stage keeping for every partial window its value and the flat input index of
its winner.

Why innermost first is exact: row-major window order is lexicographic order of
the tap tuple ``(j_1, ..., j_d)``. After reducing axis d, each partial result
(fixed ``j_1..j_{d-1}``) holds the first maximizer along ``j_d``. Reducing axis
d-1 next picks, among partial results, the first ``j_{d-1}`` whose partial max
equals the max; inside it the smallest ``j_d`` was already chosen. Repeating
outward gives the lexicographically smallest tap tuple holding the maximum,
i.e. the first row-major maximizer. (Reducing the outermost axis first would
give the first *column-major* maximizer instead.) The same argument holds for
NaN because every stage prefers NaN over any number and the first NaN among
NaNs: a partial result is NaN iff its partial window holds a NaN, and it then
carries that partial window's first NaN.

Each stage is ``torch.max(dim=-1)`` over an unfolded view, which returns the
first maximal index and treats NaN as the largest value, taking its first
occurrence. Padded cells (and empty partial windows) carry index -1 and value
-inf: they can only win when the real maximum is -inf too, and that case is
repaired by taking the first real tap instead (known from the geometry alone),
which keeps padding absent.
"""

from __future__ import annotations

import math

import torch

from .geometry import Plan
from .separable import windows

NEG_INF = float("-inf")


def first_maximizer_index(x: torch.Tensor, plan: Plan) -> torch.Tensor:
    """``[N, C, *S] -> [N, C, *O]`` int64: flat plane index of each window's winner
    (-1 for a window without real cells). Not differentiable (selection only)."""
    d = plan.d
    plane = math.prod(plan.spatial_in)
    carry = torch.int32 if plane < 2**31 else torch.int64  # half the traffic of int64
    index = torch.arange(plane, dtype=carry, device=x.device).view(plan.spatial_in)
    index = index.expand(x.shape)
    value = x.detach()
    absent = False  # may a partial result entering this stage be empty?
    for a in reversed(range(d)):
        ax = plan.axes[a]
        dim = value.ndim - d + a
        vw = windows(value, dim, ax, NEG_INF)
        iw = windows(index, dim, ax, -1)
        value, j = vw.max(-1)
        if absent or ax.has_absent:
            # the max is -inf: the winner is the first *real* tap (a padded one may have
            # won the tie). Which taps are real is geometry, and a partial result entering
            # from the inner axes is empty for every tap alike, so it is per output position.
            first = torch.tensor(ax.first_real, device=j.device)
            first = first.reshape((ax.out,) + (1,) * (value.ndim - 1 - dim))
            j = torch.where(value == NEG_INF, first, j)
        index = iw.gather(-1, j.unsqueeze(-1)).squeeze(-1)
        absent = absent or ax.has_empty
    return index.long()


def take(x: torch.Tensor, index: torch.Tensor, plan: Plan, empty: float = NEG_INF):
    """``x`` at the selected cells (differentiable in ``x``); ``empty`` where index is -1."""
    n, c = x.shape[:2]
    # explicit plane sizes: a -1 is ambiguous for an empty batch (N = 0 or C = 0)
    flat = x.reshape(n, c, math.prod(plan.spatial_in))
    out = math.prod(plan.spatial_out)
    got = flat.gather(2, index.clamp(min=0).reshape(n, c, out)).reshape(index.shape)
    if any(ax.has_empty for ax in plan.axes):
        got = torch.where(index >= 0, got, empty)
    return got
