"""The op registry and the generic ``jvp`` / ``vjp`` entry points.

``OPS`` maps an op's name to its :class:`~ndpool.spec.op.Op` record: ``inputs`` (one
:class:`~ndpool.spec.op.InputSpec` per positional array: ``name``, ``kind`` -- x,
channel, window, output, cell or index --, ``differentiable``, ``domain``,
``optional``, and ``sampler`` for the random draws), ``options`` (one
:class:`~ndpool.spec.op.Option` per keyword option: default, enumerated values, and
whether it names a convention frameworks disagree on), ``windows`` (sliding windows,
adaptive bins or the op's own), ``config_defaults`` (every keyword with its default),
``exact_for(**cfg)`` (selection ops: compare bit for bit), ``returns_indices``,
``output_shape(x_shape, **cfg)`` and ``function`` (the documented public function).
The impl, the conformance suite and the docs iterate over it; :func:`register` adds
an op.

Non-differentiable inputs (the explicit random draws of the stochastic poolers,
the sampled indices of ``s3_pool``): ``jvp`` accepts ``None`` or any array as
their tangent and ignores it; ``vjp`` returns ``None`` as their cotangent. A
``None`` tangent of a differentiable input means zero, and optional trailing inputs
(noise in ``mode="eval"``) may be ``None`` or left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .average import ADAPTIVE_AVG_POOL, AVG_POOL
from .blends import GATED_POOL, MIXED_POOL, TREE_POOL
from .gem import GEM_POOL
from .gumbel import GUMBEL_POOL
from .lp import LP_POOL
from .max import ADAPTIVE_MAX_POOL, MAX_POOL
from .median import MEDIAN_POOL
from .op import Op
from .quantile import QUANTILE_POOL
from .s3 import S3_POOL
from .smooth_max import SMOOTH_MAX_POOL
from .soft import SOFT_POOL
from .stochastic import STOCHASTIC_POOL

OPS: dict[str, Op] = {
    op.name: op
    for op in (
        MAX_POOL,
        AVG_POOL,
        LP_POOL,
        SMOOTH_MAX_POOL,
        ADAPTIVE_MAX_POOL,
        ADAPTIVE_AVG_POOL,
        QUANTILE_POOL,
        MEDIAN_POOL,
        MIXED_POOL,
        GATED_POOL,
        TREE_POOL,
        STOCHASTIC_POOL,
        S3_POOL,
        GUMBEL_POOL,
        SOFT_POOL,
        GEM_POOL,
    )
}


def register(op: Op) -> Op:
    """Add ``op`` to :data:`OPS` (every layer that iterates over the registry then
    knows it); a name that is taken is an error. Returns the op."""
    if op.name in OPS:
        raise ValueError(f"an op named {op.name!r} is registered already")
    if op.function is None:
        raise ValueError(
            f"{op.name} has no public function: decorate it with the record's .defines"
        )
    OPS[op.name] = op
    return op


def _op(op: str | Callable | Op) -> Op:
    if isinstance(op, Op):
        return op
    if isinstance(op, str):
        if op not in OPS:
            raise KeyError(f"unknown op {op!r}; known: {sorted(OPS)}")
        return OPS[op]
    for record in OPS.values():
        if record.function is op:
            return record
    raise KeyError(f"{op!r} is not a registered op")


def jvp(op, primals: Sequence, tangents: Sequence, **cfg):
    """``(y, y_dot)``: the op's value at ``primals`` and its directional derivative
    along ``tangents`` (one tangent per primal, same shapes).

    >>> import numpy as np
    >>> x = np.array([[[1.0, 3.0, 3.0, 2.0]]])
    >>> jvp("max_pool", (x,), (np.array([[[10.0, 20.0, 30.0, 40.0]]]),), kernel_size=4)
    (array([[[3.]]]), array([[[20.]]]))
    """
    return _op(op).jvp(tuple(primals), tuple(tangents), **cfg)


def vjp(op, primals: Sequence, cotangent, **cfg):
    """The cotangent of every primal (a tuple) for the output cotangent ``cotangent``.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 3.0, 3.0, 2.0]]])
    >>> vjp("max_pool", (x,), np.array([[[1.0]]]), kernel_size=4)
    (array([[[0., 1., 0., 0.]]]),)
    """
    return _op(op).vjp(tuple(primals), cotangent, **cfg)


def output_shape(op, x_shape: Sequence[int], **cfg) -> tuple[int, ...]:
    """The op's output shape for an input of shape ``x_shape`` (checks the constraints).

    >>> output_shape("max_pool", (8, 3, 5, 6), kernel_size=2, ceil_mode=True)
    (8, 3, 3, 3)
    """
    cfg.pop("return_indices", None)
    return _op(op).output_shape(tuple(x_shape), **cfg)
