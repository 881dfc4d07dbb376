"""ndpool.spec: the executable specification of N-dimensional pooling (plain NumPy).

Every op takes arrays positionally and configuration as keywords, works for any
spatial rank d >= 1 on ``[N, C, *S]`` or ``[C, *S]`` inputs, and has a forward,
a JVP and a VJP::

    y = spec.max_pool(x, kernel_size=(3, 3), stride=2, padding=1)
    y, y_dot = spec.jvp("max_pool", (x,), (x_dot,), kernel_size=(3, 3), stride=2, padding=1)
    (x_bar,) = spec.vjp("max_pool", (x,), y_bar, kernel_size=(3, 3), stride=2, padding=1)

``spec.OPS`` maps op names to their registry records.
"""

from .avg_pool import adaptive_avg_pool, avg_pool
from .constraints import CONSTRAINTS, ConstraintError
from .gem_pool import gem_pool
from .geometry import Geometry, adaptive_geometry, sliding_geometry
from .gumbel_pool import gumbel_pool
from .lp_pool import lp_pool
from .max_pool import adaptive_max_pool, max_pool
from .median_pool import median_pool
from .mixed_pool import gated_pool, mixed_pool, tree_pool
from .quantile_pool import quantile_pool
from .registry import OPS, jvp, output_shape, vjp
from .s3_pool import s3_layout, s3_pool, s3_sample_indices
from .smooth_max_pool import smooth_max_pool
from .soft_pool import soft_pool
from .stochastic_pool import stochastic_pool
from .window_op import INPUT_KINDS, InputSpec

__all__ = [
    "CONSTRAINTS",
    "INPUT_KINDS",
    "OPS",
    "ConstraintError",
    "Geometry",
    "InputSpec",
    "adaptive_avg_pool",
    "adaptive_geometry",
    "adaptive_max_pool",
    "avg_pool",
    "gated_pool",
    "gem_pool",
    "gumbel_pool",
    "jvp",
    "lp_pool",
    "max_pool",
    "median_pool",
    "mixed_pool",
    "output_shape",
    "quantile_pool",
    "s3_layout",
    "s3_pool",
    "s3_sample_indices",
    "sliding_geometry",
    "smooth_max_pool",
    "soft_pool",
    "stochastic_pool",
    "tree_pool",
    "vjp",
]
