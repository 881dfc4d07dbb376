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
from .geometry import Geometry, adaptive_geometry, sliding_geometry
from .lp_pool import lp_pool
from .max_pool import adaptive_max_pool, max_pool
from .registry import OPS, jvp, output_shape, vjp
from .smooth_max_pool import smooth_max_pool

__all__ = [
    "CONSTRAINTS",
    "OPS",
    "ConstraintError",
    "Geometry",
    "adaptive_avg_pool",
    "adaptive_geometry",
    "adaptive_max_pool",
    "avg_pool",
    "jvp",
    "lp_pool",
    "max_pool",
    "output_shape",
    "sliding_geometry",
    "smooth_max_pool",
    "vjp",
]
