"""The ``ndpool.impl`` target (the default): the project's own PyTorch implementation.

It mirrors the spec's names and signatures on ``torch.Tensor`` with autograd, for any
spatial rank, every padding form, per-channel parameters and all four dtypes, so
its capabilities are the spec's. An op the impl does not (yet) define is reported
as "not provided".
"""

from __future__ import annotations

import importlib

from .base import Capabilities, construct_for
from .torch_callables import TorchTarget

CAPABILITIES = Capabilities(error_ids=True)  # the impl raises the spec's ConstraintError


def make_target(device: str = "cpu") -> TorchTarget:
    impl = importlib.import_module("ndpool.impl")
    return TorchTarget(
        impl,
        name="ndpool.impl",
        capabilities=CAPABILITIES,
        device=device,
        construct=construct_for("ndpool.impl", device),
        modes=("eager", "torch.func", "torch.compile"),
        derivative_modes=True,
    )
