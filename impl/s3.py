"""S3Pool (spec: ``ndpool.spec.s3``): stride-1 max pooling, then grid-wise row sampling.

A composition of impl ops: :func:`ndpool.impl.max_pool` at stride 1 (the spec's
first-maximizer rule, so gradients go to the spec's cell), then, in train mode,
the kept rows of every axis (``index_select`` one axis at a time: the
``numpy.ix_`` grid). In eval mode, ``eval_rule="expectation"`` (default) is the
training output's expectation: on every axis, output ``o`` gathers the rows of the
map it can take, weighted by the number of draws in which each is its kept row,
then one division by the number of draws (autograd differentiates the products);
``"padded"`` is :func:`ndpool.impl.avg_pool` by ``stride`` with padding
``stride // 2`` and ``count_include_pad=False``. The layout and the index checks
(C21) are the spec's own (:func:`ndpool.spec.s3.s3_layout`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ndpool.spec.constraints import fail
from ndpool.spec.s3 import kept_rows, s3_layout

from .average import avg_pool
from .inputs import check_dtype, check_values, compute_dtype
from .max import max_pool


def s3_pool(
    x: torch.Tensor,
    indices=None,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    grid_size=None,
    mode: str = "train",
    eval_rule: str = "expectation",
) -> torch.Tensor:
    """Stride-1 max pooling, then the kept rows ``indices`` of every axis (train), or in
    eval mode their expectation over the sampler's draws (``eval_rule="expectation"``)
    or the padded average by ``stride`` (``"padded"``).

    >>> import torch
    >>> x = torch.tensor([[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]]])
    >>> s3_pool(x, torch.tensor([1, 3, 4, 6]), kernel_size=2, grid_size=4)
    tensor([[[4., 5., 9., 6.]]])
    >>> s3_pool(x, kernel_size=2, mode="eval")
    tensor([[[3.5000, 4.5000, 9.0000, 6.0000]]])
    """
    check_dtype(x)
    check_values("s3_pool", {}, {"mode": mode, "eval_rule": eval_rule})
    lay = s3_layout(tuple(x.shape), kernel_size=kernel_size, stride=stride, padding=padding,
                    dilation=dilation, ceil_mode=ceil_mode, grid_size=grid_size)  # fmt: skip
    m = max_pool(x, kernel_size=tuple(a["kernel"] for a in lay), stride=1, padding=padding,
                 dilation=dilation)  # fmt: skip
    if mode == "eval" and eval_rule == "expectation":
        return _expectation(m, lay)
    if mode == "eval":
        s = tuple(a["stride"] for a in lay)
        return avg_pool(m, kernel_size=s, stride=s, padding=tuple(v // 2 for v in s),
                        count_include_pad=False)  # fmt: skip
    if indices is None:
        raise fail("C16", 's3_pool(mode="train") needs the sampled indices')
    if isinstance(indices, torch.Tensor):  # tolist: readable inside torch.func transforms too
        indices = np.asarray(indices.tolist(), dtype=_index_dtype(indices))
    rows = kept_rows(indices, lay)
    d = len(lay)
    for a, r in enumerate(rows):
        m = m.index_select(m.ndim - d + a, torch.as_tensor(r, device=x.device))
    return m


def _draw_counts(a: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows [O, T], num [O, T], den [O])`` of one axis: the rows of the map output ``o``
    can take (padded with row 0 and count 0), ``num`` the draws (``P``-subsets of its grid)
    in which each is the kept row, ``den[o]`` all draws."""
    per = a["per_grid"]
    taps = a["bounds"].longest - per + 1
    rows = np.zeros((a["out"], taps), dtype=np.int64)
    num = np.zeros((a["out"], taps))
    den = np.ones(a["out"])
    for j, (lo, hi) in enumerate(a["bounds"]):
        size = hi - lo
        for i in range(per):
            o = j * per + i
            for k, t in enumerate(range(i, size - per + i + 1)):
                rows[o, k] = lo + t
                num[o, k] = math.comb(t, i) * math.comb(size - 1 - t, per - 1 - i)
            den[o] = math.comb(size, per)
    return rows, num, den


def _expectation(m: torch.Tensor, lay: list[dict]) -> torch.Tensor:
    """``sum_t num[o, t] m[rows[o, t]] / den[o]`` on every axis: the training output's
    expectation (a filler tap adds an exact 0, not ``0 * m``, which is NaN at an infinite
    cell)."""
    d = len(lay)
    cdt = compute_dtype(m.dtype)
    y = m.to(cdt)
    den = torch.ones((), dtype=cdt, device=m.device)
    for a, axis in enumerate(lay):
        rows, num, dn = _draw_counts(axis)
        dim = y.ndim - d + a
        cells = torch.movedim(y, dim, -1)[..., torch.as_tensor(rows, device=m.device)]
        weights = torch.as_tensor(num, dtype=cdt, device=m.device)
        y = torch.where(weights != 0, cells * weights, 0.0).sum(-1)
        y = torch.movedim(y, -1, dim)
        shape = [1] * d
        shape[a] = -1
        den = den * torch.as_tensor(dn, dtype=cdt, device=m.device).reshape(shape)
    return (y / den).to(m.dtype)


def _index_dtype(t: torch.Tensor):
    """The NumPy dtype of an index tensor (the spec checks it is an integer type)."""
    return np.int64 if not (t.is_floating_point() or t.is_complex()) else np.float64


def sample_s3_indices(x_shape, *, generator=None, **cfg) -> torch.Tensor:
    """Draw ``indices`` as the reference sampler does, from torch's generator: per grid,
    a uniformly random ``g/stride``-subset of its rows, sorted; axes concatenated (CPU int64)."""
    cfg.pop("mode", None)
    cfg.pop("eval_rule", None)
    parts = []
    for a in s3_layout(tuple(x_shape), **cfg):
        for lo, hi in a["bounds"]:
            pick = torch.randperm(hi - lo, generator=generator)[: a["per_grid"]]
            parts.append(lo + pick.sort().values)
    return torch.cat(parts)
