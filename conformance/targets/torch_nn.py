"""The ``torch`` target: ``torch.nn.functional`` as it is (d <= 3, its own conventions).

The adapters only route the spec's keywords to the right ``F.*_pool{d}d`` and say,
in the capabilities, what torch has: ranks 1..3, int or per-axis symmetric padding,
no ``dilation`` for avg and Lp pooling, no ``padding`` for Lp pooling, scalar
``norm_type`` (not differentiable) with PyTorch's signed convention
(``sign="signed"``, which the adapter checks and never passes on), no smooth max. Torch's
``lp_pool`` is ``(avg_pool(x**p) * prod(kernel_size))**(1/p)``, which rescales a ceil_mode
partial window; its documentation gives the plain per-window sum, so that is registered as
a deviation (``lp-ceil-partial-window-rescaled``), not declared as a convention.
``avg_pool1d`` has no ``divisor_override``; the adapter then runs ``avg_pool2d`` on a unit
axis, which is the same computation.
Known differences from the spec are registered in ``deviations/torch.toml``.
"""

from __future__ import annotations

import numbers

from .base import Capabilities, construct_for
from .torch_callables import TorchTarget


def _d(x, size) -> int:
    return len(size) if isinstance(size, (tuple, list)) else x.ndim - 2


def _one(v):
    """``(k,)`` -> ``k`` for the 1-d functions that only take ints."""
    return v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v


def _F():
    import torch.nn.functional as F

    return F


def max_pool(
    x, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    d = _d(x, kernel_size)
    fn = getattr(_F(), f"max_pool{d}d")
    return fn(
        x,
        kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        return_indices=return_indices,
    )


def avg_pool(
    x,
    *,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    F = _F()
    d = _d(x, kernel_size)
    if d == 1 and divisor_override is not None:

        def two(v, lead=1):
            # only an int becomes (lead, v): anything else reaches torch as given, so that
            # a bool or a float is rejected as avg_pool1d rejects it (avg_pool2d takes a
            # bool inside a tuple as an int)
            one = _one(v)
            is_int = isinstance(one, numbers.Integral) and not isinstance(one, bool)
            return (lead, one) if is_int else v

        y = F.avg_pool2d(
            x.unsqueeze(-2),
            two(kernel_size),
            stride=two(stride),
            padding=two(padding, 0),
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            divisor_override=divisor_override,
        )
        return y.squeeze(-2)
    kw = {"divisor_override": divisor_override} if d > 1 else {}
    return getattr(F, f"avg_pool{d}d")(
        x,
        kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        **kw,
    )


def lp_pool(
    x,
    norm_type,
    *,
    kernel_size,
    stride=None,
    ceil_mode=False,
    sign="signed",
):
    if sign != "signed":
        raise ValueError(f"torch lp_pool only has sign='signed', got {sign!r}")
    d = _d(x, kernel_size)
    fn = getattr(_F(), f"lp_pool{d}d")
    if d == 1:
        kernel_size, stride = _one(kernel_size), _one(stride)
    return fn(x, norm_type, kernel_size, stride=stride, ceil_mode=ceil_mode)


def _size1(x, output_size):
    """The 1-d functions take an int and no ``None`` (which means "keep the length")."""
    n = _one(output_size)
    return x.shape[-1] if n is None else n


def adaptive_max_pool(x, *, output_size, return_indices=False):
    d = _d(x, output_size)
    fn = getattr(_F(), f"adaptive_max_pool{d}d")
    size = _size1(x, output_size) if d == 1 else output_size
    return fn(x, size, return_indices=return_indices)


def adaptive_avg_pool(x, *, output_size):
    d = _d(x, output_size)
    fn = getattr(_F(), f"adaptive_avg_pool{d}d")
    return fn(x, _size1(x, output_size) if d == 1 else output_size)


OPS = {
    "max_pool": max_pool,
    "avg_pool": avg_pool,
    "lp_pool": lp_pool,
    "adaptive_max_pool": adaptive_max_pool,
    "adaptive_avg_pool": adaptive_avg_pool,
}

#: PyTorch's pooling takes symmetric padding up to half the kernel (the capability limit C6;
#: it checks kernel // 2 and ignores dilation: deviation padding-limit-ignores-dilation)
CAPABILITIES = Capabilities(
    ranks=(1, 2, 3), padding_forms=("int", "ints"), padding_limit="half_kernel"
)
PER_OP = {
    "avg_pool": CAPABILITIES.replace(
        config_keys=(
            "kernel_size",
            "stride",
            "padding",
            "ceil_mode",
            "count_include_pad",
            "divisor_override",
        )
    ),
    "lp_pool": CAPABILITIES.replace(
        config_keys=("kernel_size", "stride", "ceil_mode", "sign"),
        option_values={"sign": ("signed",)},
        param_forms=("scalar",),
        differentiable=("x",),
    ),
}


def make_target(device: str = "cpu") -> TorchTarget:
    return TorchTarget(
        OPS,
        name="torch",
        capabilities=CAPABILITIES,
        per_op=PER_OP,
        device=device,
        construct=construct_for("torch", device),
    )
