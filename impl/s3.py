"""S3Pool (spec: ``ndpool.spec.s3``): stride-1 max pooling, then grid-wise row sampling.

A composition of impl ops: :func:`ndpool.impl.max_pool` at stride 1 (the spec's
first-maximizer rule, so gradients go to the spec's cell), then, in train mode,
the kept rows of every axis (``index_select`` one axis at a time: the
``numpy.ix_`` grid), or in eval mode :func:`ndpool.impl.avg_pool` by ``stride``
with padding ``stride // 2`` and ``count_include_pad=False``. The layout and the
index checks (C21) are the spec's own (:func:`ndpool.spec.s3.s3_layout`).
"""

from __future__ import annotations

import numpy as np
import torch

from ndpool.spec.constraints import fail
from ndpool.spec.s3 import kept_rows, s3_layout

from .average import avg_pool
from .inputs import check_dtype, check_values
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
) -> torch.Tensor:
    """Stride-1 max pooling, then the kept rows ``indices`` of every axis (train) or
    average pooling by ``stride`` (eval).

    >>> import torch
    >>> x = torch.tensor([[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]]])
    >>> s3_pool(x, torch.tensor([1, 3, 4, 6]), kernel_size=2, grid_size=4)
    tensor([[[4., 5., 9., 6.]]])
    """
    check_dtype(x)
    check_values("s3_pool", {}, {"mode": mode})
    lay = s3_layout(tuple(x.shape), kernel_size=kernel_size, stride=stride, padding=padding,
                    dilation=dilation, ceil_mode=ceil_mode, grid_size=grid_size)  # fmt: skip
    m = max_pool(x, kernel_size=tuple(a["kernel"] for a in lay), stride=1, padding=padding,
                 dilation=dilation)  # fmt: skip
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


def _index_dtype(t: torch.Tensor):
    """The NumPy dtype of an index tensor (the spec checks it is an integer type)."""
    return np.int64 if not (t.is_floating_point() or t.is_complex()) else np.float64


def sample_s3_indices(x_shape, *, generator=None, **cfg) -> torch.Tensor:
    """Draw ``indices`` as the reference sampler does, from torch's generator: per grid,
    a uniformly random ``g/stride``-subset of its rows, sorted; axes concatenated (CPU int64)."""
    cfg.pop("mode", None)
    parts = []
    for a in s3_layout(tuple(x_shape), **cfg):
        for lo, hi in a["bounds"]:
            pick = torch.randperm(hi - lo, generator=generator)[: a["per_grid"]]
            parts.append(lo + pick.sort().values)
    return torch.cat(parts)
