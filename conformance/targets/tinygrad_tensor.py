"""The ``tinygrad`` target: ``Tensor.max_pool2d`` / ``Tensor.avg_pool2d``, VJP by ``.backward()``.

tinygrad's pooling functions are named ``*_pool2d`` but pool the last ``len(kernel_size)``
axes, any number of them ("unlike PyTorch, this implementation is not limited to only 2d
pooling"): the rank is the length of ``kernel_size``, and the axes before the pooled ones
are carried along, so ``[N, C, *S]`` and ``[C, *S]`` are both tinygrad's own layout.

How the spec's configuration reaches tinygrad:

- ``kernel_size``: always a tuple of ``d`` entries (an int ``k`` becomes ``(k,) * d``:
  tinygrad reads an int as ``(k, k)``, two axes); ``stride`` (default: the kernel) and
  ``dilation`` likewise, as tuples; ``None`` stride stays ``None`` (tinygrad's default is
  the kernel too).
- ``padding``: an int as it is; per-axis ints ``(p_1, ..., p_d)`` as they are (tinygrad
  reads them in spatial order); ``(begin, end)`` pairs as tinygrad's flat form of ``2 d``
  ints, last axis first: ``(b_d, e_d, ..., b_1, e_1)``. tinygrad has no ``"valid"`` /
  ``"same"`` strings: those forms are not declared.
- ``ceil_mode``, ``count_include_pad``, ``return_indices`` as they are.

A value of the wrong type (``kernel_size=2.0``, ``ceil_mode="no"``) reaches tinygrad as it
is, so ``invalid_config`` sees what tinygrad does with it.

What tinygrad does not have is declared, not emulated: no ``divisor_override``, no
``"valid"`` / ``"same"`` / ``"same_lower"`` padding, no Lp, adaptive or other pooling, no
forward-mode derivative (``gradients=("vjp",)``). A tinygrad ``Tensor`` has no strides
to choose (it is built from a copy of the NumPy array): ``layouts=("contiguous",)``.
float16, bfloat16 (built as float32, then ``.cast(dtypes.bfloat16)``, exact for its
values), float32 and float64 all run.

The VJP is ``y.backward(gradient=cotangent)`` and ``x.grad``, tinygrad's reverse mode.

**Backend.** tinygrad's ``CPU`` device compiles every kernel with ``clang`` (its device
set-up compiles its worker programs with clang too, whatever the renderer), so it needs
clang on the ``PATH``. The target runs tinygrad's ``PYTHON`` device by default, which
interprets the same kernels in Python and needs nothing; ``make_target(backend="CPU")``
picks the compiled one. The choice is made for the whole process (``DEV.value``, the
setting the ``DEV`` environment variable gives), before the first tensor; the
registry ``deviations/tinygrad.toml`` was established on the ``PYTHON`` device, whose
``max`` of two values is Python's ``max`` (which keeps its first argument when the
comparison with NaN fails). On this device the per-example cost is interpretation, not
compilation (nothing to cache across shapes beyond what tinygrad caches itself): about
0.12 s per example on average over the ``ci`` profile (2525 examples in 295 s, one
worker on a shared 2-core machine), larger inputs of rank 4 and 5 taking seconds.
"""

from __future__ import annotations

import numbers
import os
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..cases import Case
from .base import Capabilities, NotProvided, Target, construct_for, follow_conventions

OPS = ("max_pool", "avg_pool")
#: tinygrad's device the target runs on unless ``make_target(backend=...)`` says otherwise
DEFAULT_BACKEND = "PYTHON"
BACKENDS = ("PYTHON", "CPU")


def _tinygrad():
    import tinygrad

    return tinygrad


def _size(v):
    """An integer size as a Python int (NumPy's too); anything else (a float, a bool) as it
    is, for tinygrad to judge as a user's call would."""
    return int(v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v


def _tuple(v, d: int):
    """A size for every pooled axis: ``d`` entries (tinygrad reads an int as two axes)."""
    if isinstance(v, (tuple, list)):
        return tuple(_size(a) for a in v)
    return (_size(v),) * d


def _padding(padding, d: int):
    """The spec's padding in tinygrad's form (an int, ``d`` ints, or ``2 d`` ints)."""
    if isinstance(padding, (tuple, list)) and any(isinstance(p, (tuple, list)) for p in padding):
        flat: list = []
        for pair in reversed(padding):
            flat.extend(_size(a) for a in pair)
        return tuple(flat)
    if isinstance(padding, (tuple, list)):
        return tuple(_size(a) for a in padding)
    return _size(padding)


def _config(cfg: dict[str, Any], d: int) -> dict[str, Any]:
    """The spec's keywords as tinygrad's."""
    out = dict(cfg)
    if out.pop("divisor_override", None) is not None:
        raise ValueError("tinygrad: avg_pool2d has no divisor_override")
    out["kernel_size"] = _tuple(out["kernel_size"], d)
    if out.get("stride") is not None:
        out["stride"] = _tuple(out["stride"], d)
    if "dilation" in out:
        out["dilation"] = _tuple(out["dilation"], d)
    if "padding" in out:
        out["padding"] = _padding(out["padding"], d)
    return out


#: NumPy's names of tinygrad's float dtypes (tinygrad names them as C does: ``half``,
#: ``__bf16``, ``float``, ``double``)
def _dtype_names() -> dict:
    from tinygrad import dtypes

    return {
        dtypes.float16: "float16",
        dtypes.bfloat16: "bfloat16",
        dtypes.float32: "float32",
        dtypes.float64: "float64",
    }


class Host(SimpleNamespace):
    """A tinygrad tensor brought to the host: its values as float64 NumPy (``__array__``)
    and its dtype by NumPy's name (``dtype.name``), so that the suite checks the dtype
    tinygrad computed in."""

    def __init__(self, t):
        from tinygrad import dtypes

        name = _dtype_names().get(t.dtype)
        if name is None:  # an integer (indices) or another dtype: as it is
            values = t.numpy()
            name = values.dtype.name
        else:
            values = t.cast(dtypes.float64).numpy()
        super().__init__(values=values, dtype=SimpleNamespace(name=name))

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


def max_pool(x, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, d=None):
    """``x.max_pool2d`` over the last ``d`` axes (``d``: the case's spatial rank)."""
    cfg = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    return x.max_pool2d(**_config(cfg, d), ceil_mode=ceil_mode)


def max_pool_with_indices(
    x, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, d=None
):
    cfg = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    return x.max_pool2d(**_config(cfg, d), ceil_mode=ceil_mode, return_indices=True)


def avg_pool(
    x,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
    d=None,
):
    cfg = dict(
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        divisor_override=divisor_override,
    )
    return x.avg_pool2d(**_config(cfg, d), ceil_mode=ceil_mode, count_include_pad=count_include_pad)


FUNCTIONS = {"max_pool": max_pool, "avg_pool": avg_pool}


class TinygradTarget(Target):
    """tinygrad ``Tensor`` functions; VJP from ``.backward()``."""

    def __init__(self, *args: Any, backend: str = DEFAULT_BACKEND, **kw: Any):
        super().__init__(*args, **kw)
        self.backend = backend

    def provides(self, op: str) -> bool:
        return op in FUNCTIONS

    def _fn(self, case: Case):
        fn = FUNCTIONS.get(case.op)
        if fn is None:
            raise NotProvided(f"{self.name} has no {case.op}")
        if case.return_indices:
            fn = max_pool_with_indices
        cfg = follow_conventions(case.op, case.cfg, self.capabilities(case.op))

        def f(x):
            return fn(x, d=case.d, **cfg)

        return f

    def tensor(self, a, dtype: str):
        """A tinygrad tensor of ``a``'s values in ``dtype`` on the target's device."""
        from tinygrad import Tensor, dtypes

        a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
        if dtype == "bfloat16":  # NumPy has no bfloat16: float32 holds its values exactly
            return Tensor(a.astype(np.float32), device=self.backend).cast(dtypes.bfloat16)
        return Tensor(a.astype(dtype), device=self.backend)

    def _call(self, case: Case):
        out = self._fn(case)(self.tensor(case.x, case.dtype))
        return tuple(Host(t) for t in out) if isinstance(out, tuple) else Host(out)

    def _vjp(self, case: Case, cotangent):
        x = self.tensor(case.x, case.dtype)
        y = self._fn(case)(x)
        y.backward(gradient=self.tensor(cotangent, case.dtype))
        return (Host(x.grad),)


CAPABILITIES = Capabilities(
    layouts=("contiguous",),
    padding_forms=("int", "ints", "pairs"),
    gradients=("vjp",),
    differentiable=("x",),
)
PER_OP = {
    "max_pool": CAPABILITIES.replace(
        config_keys=("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    ),
    "avg_pool": CAPABILITIES.replace(
        config_keys=(
            "kernel_size",
            "stride",
            "padding",
            "dilation",
            "ceil_mode",
            "count_include_pad",
        ),
        return_indices=False,
    ),
}


def make_target(device: str = "cpu", backend: str = DEFAULT_BACKEND) -> TinygradTarget:
    """The ``tinygrad`` target on tinygrad's ``backend`` device (``"PYTHON"``, the default,
    or ``"CPU"``, which needs clang): the process-wide default device is set to it."""
    if device != "cpu":
        raise ValueError(f"the tinygrad target runs on the CPU, not {device!r}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown tinygrad backend {backend!r}; known: {BACKENDS}")
    os.environ["DEV"] = backend  # read when tinygrad is first imported (and by its children)
    try:
        _tinygrad()
    except ImportError as exc:
        raise ImportError(
            "target 'tinygrad' is not installed: no module 'tinygrad' "
            "(pip install -e '.[tinygrad]')",
            name="tinygrad",
        ) from exc
    from tinygrad.helpers import DEV

    DEV.value = backend  # the device of the tensors tinygrad makes itself (arange, consts)
    construct = construct_for("tinygrad")
    if backend != DEFAULT_BACKEND:
        construct = (
            "from ndpool.conformance.targets.tinygrad_tensor import make_target\n"
            f"target = make_target(backend={backend!r})"
        )
    return TinygradTarget("tinygrad", CAPABILITIES, PER_OP, construct=construct, backend=backend)
