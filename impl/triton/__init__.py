"""ndpool.impl.triton: rank-generic Triton kernels for max, average, Lp and smooth max
pooling, with deterministic gather backward passes and the spec's NaN, tie and padding
rules.

``geometry`` (resolved per-axis window geometry, plain Python) imports without Triton;
the launchers of ``ops`` (over contiguous batched ``[N, C, *S]`` tensors) and the
``torch.autograd.Function`` wrappers of ``functions`` need it, and are loaded on first
use. On a machine without a GPU the kernels run under Triton's interpreter: set
``TRITON_INTERPRET=1`` in the environment before the first launcher is touched.
"""

from .geometry import Axes, adaptive_axes, sliding_axes

_LAUNCHERS = (
    "adaptive_avg_backward",
    "adaptive_avg_forward",
    "adaptive_avg_jvp",
    "avg_backward",
    "avg_forward",
    "avg_jvp",
    "lp_backward",
    "lp_forward",
    "lp_jvp",
    "max_adaptive_backward",
    "max_adaptive_forward",
    "max_adaptive_jvp",
    "max_backward",
    "max_forward",
    "max_jvp",
    "smooth_max_backward",
    "smooth_max_forward",
    "smooth_max_jvp",
)

__all__ = ["Axes", "adaptive_axes", "sliding_axes", *_LAUNCHERS]


def __getattr__(name: str):
    """The launchers, imported from ``ops`` (and so Triton) on first use."""
    if name in _LAUNCHERS:
        from . import ops

        return getattr(ops, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
