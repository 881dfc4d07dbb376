"""The conformance records of every op, one module per op family (named as the spec's
and the impl's modules): :data:`OP_INFO` maps an op's name to its
:class:`~ndpool.conformance.record.OpInfo`; :func:`register` adds one.

An op of ``spec.OPS`` without a record is reported as "no strategy", never a crash.
"""

from __future__ import annotations

from ..record import OpInfo
from .average import ADAPTIVE_AVG_POOL, AVG_POOL
from .blends import GATED_POOL, MIXED_POOL, TREE_POOL
from .gem import GEM_POOL
from .gumbel import GUMBEL_POOL
from .lp import LP_POOL
from .max import ADAPTIVE_MAX_POOL, MAX_POOL
from .median import MEDIAN_POOL
from .quantile import QUANTILE_POOL
from .s3 import S3_POOL
from .smooth_max import SMOOTH_MAX_POOL
from .soft import SOFT_POOL
from .stochastic import STOCHASTIC_POOL

OP_INFO: dict[str, OpInfo] = {
    info.name: info
    for info in (
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


def register(info: OpInfo) -> OpInfo:
    """Add the record of an op registered in ``ndpool.spec`` (``spec.register``); a name
    that is taken, or one the spec does not know, is an error."""
    from ndpool import spec

    if info.name not in spec.OPS:
        raise ValueError(f"{info.name!r} is not an op of ndpool.spec (spec.register it first)")
    if info.name in OP_INFO:
        raise ValueError(f"an op record named {info.name!r} is registered already")
    OP_INFO[info.name] = info
    return info
