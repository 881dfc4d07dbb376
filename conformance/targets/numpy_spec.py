"""The ``ndpool.spec`` target: the spec itself, through :class:`NumpyTarget` (it conforms
by definition; the suite runs it to check itself)."""

from __future__ import annotations

from ndpool import spec

from .base import Capabilities, NumpyTarget, construct_for


def make_target(device: str = "cpu") -> NumpyTarget:
    return NumpyTarget(
        spec,
        name="ndpool.spec",
        capabilities=Capabilities(error_ids=True),
        construct=construct_for("ndpool.spec"),
    )
