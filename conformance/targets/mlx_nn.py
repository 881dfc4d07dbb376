"""The ``mlx`` target: ``mlx.nn`` max and average pooling (the CPU build), ``mx.jvp`` /
``mx.vjp``.

MLX pools channels-last arrays: ``MaxPool1d`` / ``AvgPool1d`` take ``[N, L, C]``,
``MaxPool2d`` / ``AvgPool2d`` ``[N, H, W, C]``, ``MaxPool3d`` / ``AvgPool3d``
``[N, D, H, W, C]``. The adapter moves the channel axis of the spec's ``[N, C, *S]`` to
the end (``mx.moveaxis``, a view), calls the layer and moves it back; that is all it does
(``mlx/nn/layers/pooling.py``):

==================  ==========================================================
spec                MLX
==================  ==========================================================
``max_pool``        ``nn.MaxPool{d}d(kernel_size, stride, padding)``: pads with
                    ``-inf`` ("How much negative infinity padding to apply"),
                    takes ``mx.max`` over ``as_strided`` windows
``avg_pool``        ``nn.AvgPool{d}d(kernel_size, stride, padding)``: pads with
                    zeros ("How much zero padding to apply"), takes ``mx.mean``
                    over the window: the padding is counted, the spec's
                    ``count_include_pad=True`` (its default), the only one MLX has
``kernel_size``     an int or a tuple of d ints; ``stride`` the same (default:
                    the kernel)
``padding``         an int or a tuple of d ints, applied on both sides of an axis
                    (the spec's ``int`` and ``ints`` forms)
==================  ==========================================================

What MLX does not have is declared, not emulated: spatial ranks 1..3 only, a batch axis
always (no unbatched ``[C, *S]``), no ``(begin, end)`` padding pairs and no
``"valid"`` / ``"same"`` / ``"same_lower"`` strings, no ``dilation``, no ``ceil_mode``,
no ``count_include_pad=False`` and no ``divisor_override``, no indices (no argmax
pooling), no Lp, adaptive or other pooling. The configuration reaches MLX as it is
(an integer size as a Python int, since the layers test ``isinstance(v, int)``), so its own
validation is what ``invalid_config`` checks.

Arrays are lazy: every result is ``mx.eval``-ed before it is read. MLX has float16,
bfloat16, float32 and float64 on the CPU; a bfloat16 result is read through float32 (exact),
as NumPy has no bfloat16. ``x`` reaches MLX in the case's memory layout as an MLX view:
``mx.transpose`` of a contiguous buffer in memory order (``channels_last`` is then MLX's
own contiguous ``[N, *S, C]``; ``contiguous`` reaches the layer as a transposed view), or
a step-2 slice of a buffer twice as long (``strided``); the JVP's tangent and the VJP's
cotangent come in the same layout. Derivatives are ``mx.jvp`` and ``mx.vjp`` of the same
function, and (drawn per example, :data:`DERIVATIVE_MODES`) the same under ``mx.compile``,
and ``mx.grad`` of ``sum(f(x) * cotangent)`` for the VJP; a forward call runs eagerly or
under ``mx.compile`` (:data:`CALL_MODES`, drawn by ``invalid_config``). (``mx.vmap`` of the
JVP is not a mode: MLX has no vmap rule for ``AsStrided``, "[Primitive::vmap] Not
implemented for AsStrided.")

Known differences from the spec are registered in ``deviations/mlx.toml``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..cases import INTEGER_DTYPES, Case
from .base import (
    LAYOUT_ALIASES,
    Capabilities,
    NotProvided,
    Target,
    construct_for,
    follow_conventions,
    memory_order,
    strided_buffer_shape,
    strided_index,
)

OPS = ("max_pool", "avg_pool")
#: the mlx.nn layer family of each op (``MaxPool1d``...)
LAYERS = {"max_pool": "MaxPool", "avg_pool": "AvgPool"}
#: spec keywords MLX has no counterpart for, with the only value it follows by itself
ABSENT = {
    "dilation": 1,
    "ceil_mode": False,
    "count_include_pad": True,
    "divisor_override": None,
}


def _mx():
    import mlx.core as mx

    return mx


def _size(v: Any) -> Any:
    """An integer size as a Python int (NumPy's too: MLX's layers test ``isinstance(v,
    int)``); anything else (a float, a bool, a string) as it is, for MLX to judge."""
    return int(v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v


def _sizes(v: Any) -> Any:
    """:func:`_size` of an int or of each element of a tuple / list (nested: padding)."""
    if isinstance(v, (tuple, list)):
        return tuple(_sizes(a) for a in v)
    return _size(v)


def mlx_array(a: np.ndarray, dtype: str, layout: str = "contiguous", batched: bool = True):
    """An MLX array with ``a``'s values (``[N, C, *S]``) in ``dtype`` and in ``layout``
    (:func:`~.base.memory_order`), as a view MLX makes itself: the transpose of a
    contiguous buffer in memory order, or a step-2 slice of a buffer twice as long."""
    mx = _mx()
    a = np.asarray(a, dtype=np.float64)
    layout = LAYOUT_ALIASES.get(layout, layout)

    def buffer(v: np.ndarray):
        v = np.ascontiguousarray(v)
        if dtype == "float64":  # (mx.array makes a float64 NumPy array float32 unless told)
            return mx.array(v, dtype=mx.float64)
        if dtype in INTEGER_DTYPES:  # (float64 holds the case's integers exactly)
            return mx.array(v.astype(dtype))
        # float32 holds every float16 / bfloat16 value exactly
        return mx.array(v.astype(np.float32)).astype(getattr(mx, dtype))

    if layout == "strided" and a.ndim >= 2:
        big = np.zeros(strided_buffer_shape(a.shape, batched), dtype=np.float64)
        index = strided_index(a.ndim, batched)
        big[index] = a
        return buffer(big)[index]
    order = memory_order(layout, a.ndim, batched)
    inverse = [int(i) for i in np.argsort(order)]
    return mx.transpose(buffer(np.transpose(a, order)), inverse)


class MlxValues:
    """An evaluated MLX array as the suite reads it: ``dtype`` is MLX's (checked by its
    name), the values come out as NumPy (a bfloat16 array through float32, exact)."""

    def __init__(self, a):
        mx = _mx()
        mx.eval(a)
        self.array = a
        self.dtype = a.dtype
        self.shape = tuple(a.shape)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        mx = _mx()
        a = self.array.astype(mx.float32) if self.array.dtype == mx.bfloat16 else self.array
        out = np.array(a)
        return out if dtype is None else out.astype(dtype)


def pool(op: str, x, *, kernel_size, stride=None, padding=0):
    """``op`` of an MLX ``[N, C, *S]`` array by ``mlx.nn.<Max|Avg>Pool{d}d`` on its
    channels-last view; the result back as ``[N, C, *O]``. ``d`` is the length of a tuple
    ``kernel_size`` (else ``x.ndim - 2``), so an ``x`` of the wrong rank reaches MLX as it
    is, to be rejected there."""
    import mlx.nn as nn

    mx = _mx()
    d = len(kernel_size) if isinstance(kernel_size, (tuple, list)) else x.ndim - 2
    if d not in (1, 2, 3):
        raise NotProvided(f"mlx.nn has no {d}-d pooling")
    layer = getattr(nn, f"{LAYERS[op]}{d}d")(
        _sizes(kernel_size), None if stride is None else _sizes(stride), _sizes(padding)
    )
    last = x.ndim >= 2  # (an x of rank 1 has no channel axis to move)
    y = layer(mx.moveaxis(x, 1, -1) if last else x)
    return mx.moveaxis(y, -1, 1) if last else y


class MlxTarget(Target):
    """``mlx.nn`` pooling layers on MLX arrays; JVP and VJP from ``mx.jvp`` / ``mx.vjp``."""

    def provides(self, op: str) -> bool:
        return op in OPS

    def _fn(self, case: Case):
        if case.op not in OPS:
            raise NotProvided(f"{self.name} has no {case.op}")
        k = case.cfg.get("kernel_size")
        d = len(k) if isinstance(k, (tuple, list)) else case.d
        if not case.batched and case.x.ndim == d + 1:  # (an x of another rank goes to MLX)
            raise NotProvided("mlx.nn pooling takes a batch axis: no unbatched [C, *S]")
        if case.return_indices:
            raise NotProvided("mlx.nn has no max-pool indices")
        cfg = follow_conventions(case.op, case.cfg, self.capabilities(case.op))
        for key, value in ABSENT.items():
            if key in cfg and cfg.pop(key) not in (value, (value,) * case.d):
                raise NotProvided(f"mlx.nn pooling has no {key}")

        def f(x):
            return pool(case.op, x, **cfg)

        return f

    def _input(self, case: Case, a: np.ndarray):
        """``x`` (or its tangent, or the output's cotangent) in the case's dtype and layout."""
        return mlx_array(a, case.dtype, case.layout, case.batched)

    def _call(self, case: Case):
        return MlxValues(self._fn(case)(self._input(case, case.x)))

    def call_modes(self, op: str) -> tuple[str, ...]:
        return CALL_MODES

    def forward_in(self, case: Case, mode: str):
        if mode == "eager":
            return self.forward(case)
        if mode != "mx.compile":
            raise ValueError(f"{self.name} has no call mode {mode!r}")
        f = _mx().compile(self._fn(case))
        return self.outputs(case, MlxValues(f(self._input(case, case.x))))

    def derivative_modes(self, case: Case, kind: str, finite: bool) -> tuple[str, ...]:
        return DERIVATIVE_MODES[kind]

    def _jvp(self, case: Case, tangents):
        return self._jvp_in(case, tangents, "default")

    def _vjp(self, case: Case, cotangent):
        return self._vjp_in(case, cotangent, "default")

    def _jvp_in(self, case: Case, tangents, mode: str):
        mx = _mx()
        f = self._fn(case)

        def jvp(a, t):
            (y,), (y_dot,) = mx.jvp(lambda b: [f(b)], [a], [t])
            return y, y_dot

        if mode not in DERIVATIVE_MODES["jvp"]:
            raise ValueError(f"{self.name} has no JVP mode {mode!r}")
        run = mx.compile(jvp) if mode == "mx.compile" else jvp
        y, y_dot = run(self._input(case, case.x), self._input(case, tangents[0]))
        return MlxValues(y), MlxValues(y_dot)

    def _vjp_in(self, case: Case, cotangent, mode: str):
        mx = _mx()
        f = self._fn(case)
        x, ct = self._input(case, case.x), self._input(case, cotangent)
        if mode == "mx.grad":  # the gradient of <f(x), ct>, as a training step takes it
            return (MlxValues(mx.grad(lambda a: mx.sum(f(a) * ct))(x)),)

        def vjp(a, c):
            _, (a_bar,) = mx.vjp(lambda b: [f(b)], [a], [c])
            return a_bar

        if mode not in DERIVATIVE_MODES["vjp"]:
            raise ValueError(f"{self.name} has no VJP mode {mode!r}")
        run = mx.compile(vjp) if mode == "mx.compile" else vjp
        return (MlxValues(run(x, ct)),)


#: the ways a forward call runs (``invalid_config`` draws one): eager, and under
#: ``mx.compile`` (the layer built and validated while the function is traced)
CALL_MODES = ("eager", "mx.compile")
#: the ways a derivative is formed (the jvp, vjp and adjoint properties draw one):
#: ``mx.jvp`` / ``mx.vjp`` (``"default"``), the same under ``mx.compile``, and for the VJP
#: ``mx.grad`` of ``sum(f(x) * cotangent)``
DERIVATIVE_MODES = {
    "jvp": ("default", "mx.compile"),
    "vjp": ("default", "mx.compile", "mx.grad"),
}


CAPABILITIES = Capabilities(
    ranks=(1, 2, 3),
    batched=(True,),
    padding_forms=("int", "ints"),
    config_keys=("kernel_size", "stride", "padding"),
    return_indices=False,
)
#: MaxPool takes integer arrays too (mx.max of any dtype); AvgPool's mx.mean of an integer
#: array is a float array, not the input's dtype, so only the float dtypes are declared there
PER_OP = {
    "max_pool": CAPABILITIES.replace(dtypes=CAPABILITIES.dtypes + INTEGER_DTYPES),
    "avg_pool": CAPABILITIES,
}


def make_target(device: str = "cpu", **options: Any) -> MlxTarget:
    try:
        import mlx.core as mx
        import mlx.nn  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "target 'mlx' is not installed: no module 'mlx' (pip install -e '.[mlx]')",
            name="mlx",
        ) from exc
    if options:
        raise ValueError(f"the mlx target takes no options, got {sorted(options)}")
    if device != "cpu":
        raise ValueError(f"the mlx target runs on the CPU (its CPU build), not {device!r}")
    mx.set_default_device(mx.cpu)
    return MlxTarget("mlx", CAPABILITIES, PER_OP, construct=construct_for("mlx"))
