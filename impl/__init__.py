"""ndpool.impl: the optimized PyTorch implementation of the spec's ops.

Same names, signatures and semantics as :mod:`ndpool.spec`, for ``torch.Tensor``
with autograd (backward, forward mode, ``torch.func``, ``torch.compile``)::

    y = impl.max_pool(x, kernel_size=(3, 3), stride=2, padding=1)
    y = impl.lp_pool(x, 2.0, kernel_size=3)
    pool = impl.SmoothMaxPool(kernel_size=(2, 2, 2), beta=1.0, learnable=True, num_channels=8)

``OPS`` maps every op of ``ndpool.spec.OPS`` to its impl function.
"""

from .average import adaptive_avg_pool, avg_pool
from .blends import gated_pool, mixed_pool, tree_pool
from .gem import gem_pool
from .gumbel import gumbel_pool, sample_gumbel
from .lp import lp_pool
from .max import adaptive_max_pool, max_pool
from .median import median_pool
from .modules import (
    AdaptiveAvgPool,
    AdaptiveMaxPool,
    AvgPool,
    GatedPool,
    GeMPool,
    GumbelPool,
    LpPool,
    MaxPool,
    MedianPool,
    MixedPool,
    QuantilePool,
    S3Pool,
    SmoothMaxPool,
    SoftPool,
    StochasticPool,
    TreePool,
)
from .quantile import quantile_pool
from .s3 import s3_pool, sample_s3_indices
from .smooth_max import smooth_max_pool
from .soft import soft_pool
from .stochastic import stochastic_pool

OPS = {
    fn.__name__: fn
    for fn in (
        max_pool,
        avg_pool,
        lp_pool,
        smooth_max_pool,
        adaptive_max_pool,
        adaptive_avg_pool,
        quantile_pool,
        median_pool,
        mixed_pool,
        gated_pool,
        tree_pool,
        stochastic_pool,
        s3_pool,
        gumbel_pool,
        soft_pool,
        gem_pool,
    )
}

__all__ = [
    "OPS",
    "AdaptiveAvgPool",
    "AdaptiveMaxPool",
    "AvgPool",
    "GatedPool",
    "GeMPool",
    "GumbelPool",
    "LpPool",
    "MaxPool",
    "MedianPool",
    "MixedPool",
    "QuantilePool",
    "S3Pool",
    "SmoothMaxPool",
    "SoftPool",
    "StochasticPool",
    "TreePool",
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "avg_pool",
    "gated_pool",
    "gem_pool",
    "gumbel_pool",
    "lp_pool",
    "max_pool",
    "median_pool",
    "mixed_pool",
    "quantile_pool",
    "s3_pool",
    "sample_gumbel",
    "sample_s3_indices",
    "smooth_max_pool",
    "soft_pool",
    "stochastic_pool",
    "tree_pool",
]
