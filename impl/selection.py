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

Each stage works tap by tap on strided views (:func:`ndpool.impl.separable.taps`):
the partial maximum is an elementwise ``maximum`` of the taps (NaN propagates), and
the winner a scan of the taps from last to first keeping every tap that equals it
(or is NaN), so the first such tap is kept last. Padded cells (and empty partial
windows) carry index -1 and value -inf: they could tie only with a real maximum of
-inf, so where a stage may read one its scan also asks for index >= 0, which keeps
padding absent and gives the spec's first real cell of an all -inf window.
"""

from __future__ import annotations

import math

import torch

from . import native
from .geometry import Plan
from .separable import tap_maximum, taps

NEG_INF = float("-inf")


# A block of windows' planes, in bytes of input, that one selection pass works on: its
# stage tensors (values, indices, winners, masks: a few times the block) then stay in a
# CPU core's cache across the 3K elementwise ops of a stage (256 KiB to 1 MiB blocks do
# best on a core with a few MiB of cache).
BLOCK_BYTES = 1 << 19


def first_maximizer_index(x: torch.Tensor, plan: Plan) -> torch.Tensor:
    """``[N, C, *S] -> [N, C, *O]`` int64: flat plane index of each window's winner
    (-1 for a window without real cells). Not differentiable (selection only).

    Eagerly on CPU the planes are selected in blocks of about :data:`BLOCK_BYTES` (windows
    never cross planes). Padding can only tie where a window's maximum is -inf (a winner
    of a larger value is a real cell, and so is every partial winner on its way), so
    eagerly a block's scans first run without the index >= 0 test, and again with it
    only if some maximum in the block is -inf."""
    value = x.detach()
    if native.is_traced(x):
        return _block(value, plan, traced=True)
    n, c = value.shape[:2]
    plane_bytes = max(1, math.prod(plan.spatial_in) * value.element_size())
    planes = max(1, BLOCK_BYTES // plane_bytes)
    if n * c <= planes or value.device.type != "cpu":  # (a GPU wants one big launch)
        return _block(value, plan, traced=False)
    out = torch.empty((n, c, *plan.spatial_out), dtype=torch.int64, device=value.device)
    if planes >= c:  # whole images at a time
        step = planes // c
        for i in range(0, n, step):
            out[i : i + step] = _block(value[i : i + step], plan, traced=False)
    else:
        for i in range(n):
            for j in range(0, c, planes):
                block = value[i : i + 1, j : j + planes]
                out[i : i + 1, j : j + planes] = _block(block, plan, traced=False)
    return out


def _block(value: torch.Tensor, plan: Plan, traced: bool) -> torch.Tensor:
    padded = any(ax.has_absent for ax in plan.axes)
    index, top = _select(value, plan, check_padding=padded and traced)
    if padded and not traced and bool((top == NEG_INF).any()):
        index, _ = _select(value, plan, check_padding=True)
    return index.long()


def _select(value: torch.Tensor, plan: Plan, check_padding: bool):
    """The stages of :func:`first_maximizer_index`: ``(winner index, window max)``."""
    d = plan.d
    plane = math.prod(plan.spatial_in)
    carry = torch.int32 if plane < 2**31 else torch.int64  # half the traffic of int64
    # [1, 1, *S]: the first stage broadcasts it, later stages carry the winners' indices
    index = torch.arange(plane, dtype=carry, device=value.device)
    index = index.view((1, 1, *plan.spatial_in))
    nan = native.is_traced(value) or bool(torch.isnan(value).any())
    absent = False  # may a partial result entering this stage be empty?
    for a in reversed(range(d)):
        ax = plan.axes[a]
        dim = value.ndim - d + a
        values = taps(value, dim, ax, NEG_INF)
        indices = taps(index, dim, ax, -1)
        top = tap_maximum(values)
        real = check_padding and (absent or ax.has_absent)
        winner = indices[-1]
        for v, i in zip(values[-2::-1], indices[-2::-1]):
            hit = v == top
            if nan:
                hit = hit | v.isnan()
            if real:
                hit = hit & (i >= 0)
            winner = torch.where(hit, i, winner)
        value, index = top, winner.expand(top.shape)
        absent = absent or ax.has_empty
    return index, value


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
