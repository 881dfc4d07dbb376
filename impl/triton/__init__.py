"""ndpool.impl.triton: rank-generic Triton kernels for max, average, Lp and smooth max
pooling, with deterministic gather backward passes and the spec's NaN, tie and padding
rules.

``geometry`` (resolved per-axis window geometry, plain Python) imports without Triton;
the launchers of ``ops`` (over contiguous batched ``[N, C, *S]`` tensors) and the
``torch.autograd.Function`` wrappers of ``functions`` need it, and are loaded on first
use. On a machine without a GPU the kernels run under Triton's interpreter: set
``TRITON_INTERPRET=1`` in the environment before the first launcher is touched.

The entry points of ``pooling`` (``max_pool``, ``avg_pool``, ``lp_pool``,
``smooth_max_pool``, ``adaptive_max_pool``, ``adaptive_avg_pool``) have the signatures and
checks of their :mod:`ndpool.impl` namesakes and are loaded on first use as well;
:func:`available` says, without importing Triton, whether they can be, and
:func:`applies` whether an ndpool.impl call on a tensor should go to them.
"""

import functools
import importlib.util

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
    "max_values",
    "smooth_max_backward",
    "smooth_max_forward",
    "smooth_max_jvp",
)

_ENTRY_POINTS = (
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "avg_pool",
    "lp_pool",
    "max_pool",
    "smooth_max_pool",
)

__all__ = [
    "Axes",
    "adaptive_axes",
    "applies",
    "available",
    "routed",
    "KERNEL_OPTIONS",
    "sliding_axes",
    "supported_context",
    *_ENTRY_POINTS,
    *_LAUNCHERS,
]


def available() -> bool:
    """Whether Triton is installed, so that the kernels can be loaded."""
    return importlib.util.find_spec("triton") is not None


def supported_context() -> bool:
    """Whether the kernels' autograd Functions work where this is called: eagerly, under
    any number of ``torch.func.vmap`` levels (vmapped dimensions are folded into the
    channel axis) and at most one ``torch.func`` derivative transform (``grad``, ``vjp``,
    ``jvp``; so ``jacrev`` and ``jacfwd`` too); not while ``torch.compile`` traces or under
    nested derivative transforms (the rules are not differentiable)."""
    import torch
    from torch._C._functorch import TransformType
    from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters

    if torch.compiler.is_compiling():
        return False
    stack = retrieve_all_functorch_interpreters()
    return sum(level.key() != TransformType.Vmap for level in stack) <= 1


def applies(x) -> bool:
    """Whether an ndpool.impl op on ``x`` should run the Triton kernels: ``x`` is a CUDA
    tensor, Triton is installed and the context is supported (:func:`supported_context`)."""
    return bool(getattr(x, "is_cuda", False)) and available() and supported_context()


#: the option values the kernels compute, where they do not compute every value (the
#: first is the default); a call with another value stays on ndpool.impl's torch path
KERNEL_OPTIONS = {"lp_pool": {"reduction": ("sum",)}}


def routed(op):
    """The ndpool.impl op ``op``, sending a tensor the kernels take (:func:`applies`: a CUDA
    tensor, Triton installed, a supported context) with options they compute
    (:data:`KERNEL_OPTIONS`) to the Triton entry point of the same name (same signature,
    checks and semantics), and every other call to ``op``."""
    options = KERNEL_OPTIONS.get(op.__name__, {})

    @functools.wraps(op)
    def dispatch(x, *args, **kwargs):
        computed = all(kwargs.get(k, values[0]) in values for k, values in options.items())
        if computed and applies(x):
            from . import pooling

            return getattr(pooling, op.__name__)(x, *args, **kwargs)
        return op(x, *args, **kwargs)

    return dispatch


def __getattr__(name: str):
    """The launchers and the entry points, imported from ``ops`` and ``pooling`` (and so
    Triton) on first use."""
    if name in _LAUNCHERS:
        from . import ops

        return getattr(ops, name)
    if name in _ENTRY_POINTS:
        from . import pooling

        return getattr(pooling, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
