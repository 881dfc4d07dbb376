"""Median pooling: a selection (an order statistic), exact, monotone and homogeneous like
max."""

from __future__ import annotations

from ..record import OpInfo, always
from ..tolerances import window_vjp_bound

MEDIAN_POOL = OpInfo(
    "median_pool", selects=always, exact_jvp=always, vjp_bound=window_vjp_bound, monotone=True
)
