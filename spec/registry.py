"""The op registry and the generic ``jvp`` / ``vjp`` entry points.

``OPS`` maps an op's name to its :class:`~ndpool.spec.window_op.WindowOp`
record: ``inputs`` (the positional, differentiable arrays), ``config_defaults``
(every keyword with its default), ``exact`` (selection ops: compare bit for bit),
``returns_indices``, ``output_shape(x_shape, **cfg)`` and ``function`` (the
documented public function). Later parts of ndpool (the impl, the conformance
suite, the docs) iterate over it.

Every record also has ``input_specs`` (one :class:`~ndpool.spec.window_op.InputSpec`
per positional input: ``name``, ``kind`` -- x, channel, window, output, cell or
index --, ``differentiable``, ``domain``, ``optional``, and ``sampler`` for the
random draws), ``differentiable`` (a tuple of bools, one per input) and
``exact_for(**cfg)`` (exactness under a configuration, e.g. ``mode``).

Non-differentiable inputs (the explicit random draws of the stochastic poolers,
the sampled indices of ``s3_pool``): ``jvp`` accepts ``None`` or any array as
their tangent and ignores it; ``vjp`` returns ``None`` as their cotangent. For
the ops with declared input kinds a ``None`` tangent of a differentiable input
means zero, and optional trailing inputs (noise in ``mode="eval"``) may be
``None`` or left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .avg_pool import ADAPTIVE_AVG_POOL, AVG_POOL
from .gem_pool import GEM_POOL
from .gumbel_pool import GUMBEL_POOL
from .lp_pool import LP_POOL
from .max_pool import ADAPTIVE_MAX_POOL, MAX_POOL
from .median_pool import MEDIAN_POOL
from .mixed_pool import GATED_POOL, MIXED_POOL, TREE_POOL
from .quantile_pool import QUANTILE_POOL
from .s3_pool import S3_POOL
from .smooth_max_pool import SMOOTH_MAX_POOL
from .soft_pool import SOFT_POOL
from .stochastic_pool import STOCHASTIC_POOL
from .window_op import WindowOp

OPS: dict[str, WindowOp] = {
    op.name: op
    for op in (
        MAX_POOL,
        AVG_POOL,
        LP_POOL,
        SMOOTH_MAX_POOL,
        ADAPTIVE_MAX_POOL,
        ADAPTIVE_AVG_POOL,
        # the learnable and stochastic poolers (issue 6)
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


def _op(op: str | Callable | WindowOp) -> WindowOp:
    if isinstance(op, WindowOp):
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
