"""The ``tensorflow`` target: ``tf.nn`` pooling, eager on the CPU, with ``tf.GradientTape``
(VJP) and ``tf.autodiff.ForwardAccumulator`` (JVP).

Which TensorFlow function runs a case:

======================  ================================================================
case                    TensorFlow
======================  ================================================================
``max_pool``            ``tf.nn.max_pool1d`` / ``max_pool2d`` / ``max_pool3d`` (dilation 1)
``avg_pool``            ``tf.nn.avg_pool1d`` / ``avg_pool2d`` / ``avg_pool3d`` (dilation 1)
dilation > 1            ``tf.nn.pool(..., pooling_type="MAX"/"AVG", dilations=...)``
``return_indices``      ``tf.nn.max_pool_with_argmax`` (2-D only)
``padding``             ``"valid"`` / ``"same"``: the strings ``"VALID"`` / ``"SAME"``
                        (TensorFlow's SAME is the spec's ``"same"``: the odd cell at the
                        end); no padding at all (``0``, zero ints or pairs): ``"VALID"``;
                        other int / ints / ``(begin, end)`` pairs: the explicit list
                        ``[[0, 0], [b, e], ..., [0, 0]]``, which ``MaxPool``
                        (``max_pool1d`` / ``max_pool2d``) takes below the kernel size, and
                        ``tf.nn.pool`` with dilations in 2-D
layout                  TensorFlow pools channels-last (``NWC`` / ``NHWC`` / ``NDHWC``): the
                        adapter transposes ``[N, C, *S]`` to ``[N, *S, C]`` and back (inside
                        the differentiated function, so a gradient passes through it too);
                        an unbatched ``[C, *S]`` runs as ``[1, C, *S]``
======================  ================================================================

Conventions (``docs/frameworks.md``): ``tf.nn.avg_pool`` with ``"SAME"`` divides by the
number of real cells in the window (``count_include_pad=False``); it has no way to count the
padding, so the capabilities declare ``count_include_pad=False`` only (with ``"valid"`` the two
agree). ``tf.nn.max_pool_with_argmax`` returns the flat index of the maximum in the NHWC
tensor, ``(y * W + x) * C + c`` (``include_batch_in_index=False``, the default); the adapter
turns it into the spec's (PyTorch's) per-plane index ``y * W + x`` and marks an index whose
channel part is not the window's own channel as ``-1``, so a wrong index still fails.

What TensorFlow lacks is declared or registered, never emulated. Declared: spatial ranks
1..3 (``tf.nn.pool`` and ``max_pool``/``avg_pool`` stop at 3), no ``ceil_mode``, no
``divisor_override``, no ``"same_lower"``, no indices for the average, integer dtypes for
max pooling only (int8, uint8, int16, uint16, int32, int64: MaxPool has no uint32 CPU
kernel). Registered where a scope fact can say it (``conformance/targets/deviations/
tensorflow.toml``): no float16, float64 or integer 3-D pooling on the CPU, no explicit padding
for ``avg_pool1d/2d/3d`` or ``max_pool3d``, none reaching the kernel size for ``MaxPool``, no
"SAME" with dilations, indices only from the 2-D, undilated, string-padded
``max_pool_with_argmax``, no forward-mode JVP of ``MaxPool`` with explicit padding, no
dilation with a stride above 1 (``tf.nn.pool``: "If any value of strides is > 1, then all
values of dilation_rate must be 1"): the calls go to TensorFlow, which raises.

Arrays are ``tf.constant`` s built from contiguous float64 NumPy arrays cast to the case's
dtype (the values are exact in it), so TensorFlow sees no strides: the layout capability is
``contiguous``. ``TF_CPP_MIN_LOG_LEVEL=3`` is set before TensorFlow is imported (unless the
environment sets it), and :func:`make_target` asks for one intra-op thread where the runtime is
not yet initialised.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis.errors import UnsatisfiedAssumption

from ..cases import Case
from .base import (
    Capabilities,
    NotProvided,
    Target,
    construct_for,
    follow_conventions,
    triton_before_tensorflow,
)

OPS = ("max_pool", "avg_pool")


class NotExpressible(NotProvided, UnsatisfiedAssumption):
    """This configuration has no ``tf.nn`` call (the example is discarded)."""


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    triton_before_tensorflow()
    import tensorflow as tf

    return tf


def _per_axis(v, d: int):
    """``v`` as a list of d entries as the user gave them (a scalar repeated); nothing is
    converted, so TensorFlow judges a float, a bool or a negative value itself."""
    if isinstance(v, (tuple, list)):
        return list(v)
    return [v] * d


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_one(v) -> bool:
    return _is_int(v) and v == 1


def _is_zero(v) -> bool:
    return _is_int(v) and v == 0


def _padding(padding, d: int):
    """A padding string (``"VALID"`` / ``"SAME"``) or the explicit channels-last list. No
    padding at all (``0``, zeros per axis or per side, as ints) is ``"VALID"``, which is the
    same configuration; any other value is passed as it is, for TensorFlow to judge."""
    if isinstance(padding, str):
        return {"valid": "VALID", "same": "SAME"}.get(padding, padding)
    entries = _per_axis(padding, d)
    pairs = [list(e) if isinstance(e, (tuple, list)) else [e, e] for e in entries]
    if len(pairs) == d and all(_is_zero(v) for pair in pairs for v in pair):
        return "VALID"
    return [[0, 0], *pairs, [0, 0]]


def _channels_last(x, d: int):
    tf = _tf()
    return tf.transpose(x, [0, *range(2, d + 2), 1])


def _channels_first(y, d: int):
    tf = _tf()
    return tf.transpose(y, [0, d + 1, *range(1, d + 1)])


def pool(x, *, kind, d, batched, kernel_size, stride=None, padding=0, dilation=1):
    """``max`` / ``avg`` pooling of a channels-first tensor with the spec's keywords."""
    tf = _tf()
    xb = x if batched else x[None]
    xl = _channels_last(xb, d)
    ksize = kernel_size
    strides = kernel_size if stride is None else stride
    pads = _padding(padding, d)
    dil = _per_axis(dilation, d)
    if all(_is_one(v) for v in dil):
        fn = getattr(tf.nn, f"{kind}_pool{d}d", None)
        if fn is None:  # d > 3: not declared, never drawn
            raise NotExpressible(f"tf.nn has no {kind}_pool{d}d")
        y = fn(xl, ksize=ksize, strides=strides, padding=pads)
    else:
        y = tf.nn.pool(
            xl,
            window_shape=_per_axis(ksize, d),
            pooling_type=kind.upper(),
            strides=_per_axis(strides, d),
            padding=pads,
            dilations=dil,
        )
    y = _channels_first(y, d)
    return y if batched else y[0]


def max_pool_with_argmax(x, *, d, batched, kernel_size, stride=None, padding=0, dilation=1):
    """``tf.nn.max_pool_with_argmax`` with its NHWC flat indices turned into the spec's
    per-plane indices (``-1`` where TensorFlow's index points at another channel). The op
    is 2-D: another rank reaches it as it is, for TensorFlow to reject."""
    tf = _tf()
    if not all(_is_one(v) for v in _per_axis(dilation, d)):
        raise ValueError("tf.nn.max_pool_with_argmax has no dilation")
    xb = x if batched else x[None]
    xl = _channels_last(xb, d)
    strides = kernel_size if stride is None else stride
    y, argmax = tf.nn.max_pool_with_argmax(
        xl,
        ksize=kernel_size,
        strides=strides,
        padding=_padding(padding, d),
        include_batch_in_index=False,
    )
    idx = plane_indices(argmax.numpy(), int(xl.shape[-1]))
    y = _channels_first(y, d)
    return (y, idx) if batched else (y[0], idx[0])


def plane_indices(argmax: np.ndarray, channels: int) -> np.ndarray:
    """TensorFlow's channels-last ``argmax`` (``[N, *O, C]``, each ``(y * W + x) * C + c``)
    as the spec's channels-first per-plane indices ``[N, C, *O]`` (``y * W + x``); an index
    whose channel part is not its own channel ``c`` becomes ``-1`` (never a valid index)."""
    idx = np.asarray(argmax).astype(np.int64)
    if channels > 0:
        chan = np.arange(channels).reshape((1,) * (idx.ndim - 1) + (channels,))
        idx = np.where(idx % channels == chan, idx // channels, -1)
    return np.moveaxis(idx, -1, 1)


class TensorflowTarget(Target):
    """``tf.nn`` pooling on ``tf.Tensor``; JVP from ``ForwardAccumulator``, VJP from
    ``GradientTape``."""

    def provides(self, op: str) -> bool:
        return op in OPS

    def _fn(self, case: Case):
        if case.op not in OPS:
            raise NotProvided(f"{self.name} has no {case.op}")
        cfg = follow_conventions(case.op, case.cfg, self.capabilities(case.op))
        if cfg.pop("ceil_mode", False):
            raise ValueError("tensorflow: tf.nn pooling has no ceil_mode")
        if cfg.pop("divisor_override", None) is not None:
            raise ValueError("tensorflow: tf.nn.avg_pool has no divisor_override")
        if case.op == "avg_pool" and cfg.pop("count_include_pad", False) is not False:
            raise ValueError("tensorflow: tf.nn.avg_pool never counts the padding")
        kind = "max" if case.op == "max_pool" else "avg"

        def f(x):
            return pool(x, kind=kind, d=case.d, batched=case.batched, **cfg)

        return f, cfg

    def tensor(self, a, dtype: str):
        """``a`` (float64 values exact in ``dtype``) as a ``tf.Tensor`` of ``dtype``."""
        tf = _tf()
        t = tf.constant(np.ascontiguousarray(np.asarray(a, dtype=np.float64)))
        return tf.cast(t, getattr(tf, dtype))

    def _call(self, case: Case):
        f, cfg = self._fn(case)
        x = self.tensor(case.x, case.dtype)
        if case.return_indices:
            return max_pool_with_argmax(x, d=case.d, batched=case.batched, **cfg)
        return f(x)

    def _jvp(self, case: Case, tangents):
        f, _ = self._fn(case)
        x = self.tensor(case.x, case.dtype)
        return forward_accumulator_jvp(f, x, self.tensor(tangents[0], case.dtype))

    def _vjp(self, case: Case, cotangent):
        f, _ = self._fn(case)
        x = self.tensor(case.x, case.dtype)
        return gradient_tape_vjp(f, x, self.tensor(cotangent, case.dtype))


def forward_accumulator_jvp(f, x, t) -> tuple:
    """``(f(x), J t)`` by ``tf.autodiff.ForwardAccumulator`` (a tangent that does not reach
    the output is zero)."""
    tf = _tf()
    with tf.autodiff.ForwardAccumulator(primals=x, tangents=t) as acc:
        y = f(x)
    return y, acc.jvp(y, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def gradient_tape_vjp(f, x, ct) -> tuple:
    """``(J^T ct,)`` by ``tf.GradientTape`` (an input that does not reach the output gets
    zeros, not ``None``)."""
    tf = _tf()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    (x_bar,) = tape.gradient(
        y, [x], output_gradients=ct, unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    return (x_bar,)


#: MaxPool (1-D, 2-D) also takes these integer dtypes on the CPU (not uint32: no kernel);
#: MaxPool3D and the averages take none (registered: pool3d-dtypes)
INTEGER_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "int64")
#: ``padding_limit`` stays ``None``: MaxPool takes any explicit padding below the kernel
#: (registered: padding-reaches-kernel-rejected), more than the limit C6 would allow
CAPABILITIES = Capabilities(
    ranks=(1, 2, 3),
    layouts=("contiguous",),
    padding_forms=("int", "ints", "pairs", "valid", "same"),
)
PER_OP = {
    "max_pool": CAPABILITIES.replace(
        dtypes=(*CAPABILITIES.dtypes, *INTEGER_DTYPES),
        config_keys=("kernel_size", "stride", "padding", "dilation"),
    ),
    "avg_pool": CAPABILITIES.replace(
        config_keys=("kernel_size", "stride", "padding", "dilation", "count_include_pad"),
        option_values={"count_include_pad": (False,)},
        return_indices=False,
    ),
}


def make_target(device: str = "cpu") -> TensorflowTarget:
    try:
        tf = _tf()
    except ImportError as exc:
        raise ImportError(
            "target 'tensorflow' is not installed: no module 'tensorflow' "
            "(pip install -e '.[tensorflow]')",
            name="tensorflow",
        ) from exc
    if device != "cpu":
        raise ValueError(f"the tensorflow target runs on the CPU, not {device!r}")
    try:  # one thread on shared machines; only possible before the runtime starts
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    return TensorflowTarget(
        "tensorflow", CAPABILITIES, PER_OP, construct=construct_for("tensorflow")
    )
