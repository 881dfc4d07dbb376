"""ndpool.spec: the executable specification of N-dimensional pooling (plain NumPy).

Every op takes arrays positionally and configuration as keywords, works for any
spatial rank d >= 1 on ``[N, C, *S]`` or ``[C, *S]`` inputs, and has a forward,
a JVP and a VJP::

    y = spec.max_pool(x, kernel_size=(3, 3), stride=2, padding=1)
    y, y_dot = spec.jvp("max_pool", (x,), (x_dot,), kernel_size=(3, 3), stride=2, padding=1)
    (x_bar,) = spec.vjp("max_pool", (x,), y_bar, kernel_size=(3, 3), stride=2, padding=1)

``spec.OPS`` maps op names to their registry records. The ops gather and reduce their
windows in blocks under a memory budget (``spec.memory_budget``, 256 MiB by default).
"""

from .average import adaptive_avg_pool, avg_pool
from .blends import gated_pool, mixed_pool, tree_pool
from .blocks import DEFAULT_MEMORY_BUDGET, current_memory_budget, memory_budget
from .constraints import CONSTRAINTS, ConstraintError
from .gem import gem_pool
from .geometry import Geometry, adaptive_geometry, sliding_axes, sliding_geometry
from .gumbel import gumbel_pool
from .lp import lp_pool
from .max import adaptive_max_pool, max_pool
from .median import median_pool
from .op import INPUT_KINDS, InputSpec, Op, Option
from .quantile import quantile_pool
from .registry import OPS, jvp, output_shape, register, vjp
from .s3 import s3_layout, s3_pool, s3_sample_indices
from .smooth_max import smooth_max_pool
from .soft import soft_pool
from .stochastic import stochastic_pool

__all__ = [
    "CONSTRAINTS",
    "DEFAULT_MEMORY_BUDGET",
    "INPUT_KINDS",
    "OPS",
    "ConstraintError",
    "Geometry",
    "InputSpec",
    "Op",
    "Option",
    "adaptive_avg_pool",
    "adaptive_geometry",
    "adaptive_max_pool",
    "avg_pool",
    "current_memory_budget",
    "gated_pool",
    "gem_pool",
    "gumbel_pool",
    "jvp",
    "lp_pool",
    "max_pool",
    "median_pool",
    "memory_budget",
    "mixed_pool",
    "output_shape",
    "quantile_pool",
    "register",
    "s3_layout",
    "s3_pool",
    "s3_sample_indices",
    "sliding_axes",
    "sliding_geometry",
    "smooth_max_pool",
    "soft_pool",
    "stochastic_pool",
    "tree_pool",
    "vjp",
]
