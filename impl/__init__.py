"""ndpool.impl: the optimized PyTorch implementation of the spec's ops (see issue 3).

Same names, signatures and semantics as :mod:`ndpool.spec`, for ``torch.Tensor``
with autograd (backward, forward mode, ``torch.func``, ``torch.compile``)::

    y = impl.max_pool(x, kernel_size=(3, 3), stride=2, padding=1)
    y = impl.lp_pool(x, 2.0, kernel_size=3)
    pool = impl.SmoothMaxPool(kernel_size=(2, 2, 2), beta=1.0, learnable=True, num_channels=8)
"""

from .avg_pool import adaptive_avg_pool, avg_pool
from .lp_pool import lp_pool
from .max_pool import adaptive_max_pool, max_pool
from .modules import (
    AdaptiveAvgPool,
    AdaptiveMaxPool,
    AvgPool,
    LpPool,
    MaxPool,
    SmoothMaxPool,
)
from .smooth_max_pool import smooth_max_pool

OPS = {
    "max_pool": max_pool,
    "avg_pool": avg_pool,
    "lp_pool": lp_pool,
    "smooth_max_pool": smooth_max_pool,
    "adaptive_max_pool": adaptive_max_pool,
    "adaptive_avg_pool": adaptive_avg_pool,
}

__all__ = [
    "OPS",
    "AdaptiveAvgPool",
    "AdaptiveMaxPool",
    "AvgPool",
    "LpPool",
    "MaxPool",
    "SmoothMaxPool",
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "avg_pool",
    "lp_pool",
    "max_pool",
    "smooth_max_pool",
]

# -- the learnable and stochastic poolers (issue 6) ------------------------------------
from .gem_pool import gem_pool  # noqa: E402
from .gumbel_pool import gumbel_pool, sample_gumbel  # noqa: E402
from .median_pool import median_pool  # noqa: E402
from .mixed_pool import gated_pool, mixed_pool, tree_pool  # noqa: E402
from .pooler_modules import (  # noqa: E402
    GatedPool,
    GeMPool,
    GumbelPool,
    MedianPool,
    MixedPool,
    QuantilePool,
    S3Pool,
    SoftPool,
    StochasticPool,
    TreePool,
)
from .quantile_pool import quantile_pool  # noqa: E402
from .s3_pool import s3_pool, sample_s3_indices  # noqa: E402
from .soft_pool import soft_pool  # noqa: E402
from .stochastic_pool import stochastic_pool  # noqa: E402

POOLERS = {
    "quantile_pool": quantile_pool,
    "median_pool": median_pool,
    "mixed_pool": mixed_pool,
    "gated_pool": gated_pool,
    "tree_pool": tree_pool,
    "stochastic_pool": stochastic_pool,
    "s3_pool": s3_pool,
    "gumbel_pool": gumbel_pool,
    "soft_pool": soft_pool,
    "gem_pool": gem_pool,
}
OPS.update(POOLERS)

__all__ += [
    "POOLERS",
    "GatedPool",
    "GeMPool",
    "GumbelPool",
    "MedianPool",
    "MixedPool",
    "QuantilePool",
    "S3Pool",
    "SoftPool",
    "StochasticPool",
    "TreePool",
    "gated_pool",
    "gem_pool",
    "gumbel_pool",
    "median_pool",
    "mixed_pool",
    "quantile_pool",
    "s3_pool",
    "sample_gumbel",
    "sample_s3_indices",
    "soft_pool",
    "stochastic_pool",
    "tree_pool",
]
