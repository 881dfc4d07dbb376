"""The ``torch-compile`` target: the ``torch`` target's functions through ``torch.compile``.

Each (op, configuration) is compiled once with the default (Inductor) backend on the CPU,
``dynamic=False`` (pooling configurations are Python constants; a new shape or dtype
recompiles, which Inductor does in a fraction of a second once warm), and the compiled
callable is cached. Dynamo's recompile limits are raised so that no call silently falls
back to eager. Where tracing a configuration fails (a shape the op rejects), the error
reaches the suite, which reports it; the fake-tensor logger that would also print its
traceback to stderr, two dozen lines per example, is silenced (:func:`_quiet_tracing`).

Derivatives: the VJP is ``torch.autograd.grad`` through the compiled function, so AOT
Autograd compiles the backward too. There is no JVP: ``torch.func.jvp`` (forward-mode AD)
runs a compiled function eagerly, which would check eager torch again, so the target
declares ``gradients=("vjp",)`` and the JVP and adjoint properties are "not provided".
The capabilities are the ``torch`` target's.
"""

from __future__ import annotations

import logging

from ..cases import Case
from .base import NotProvided, construct_for
from .torch_callables import TorchTarget, to_tensor
from .torch_nn import CAPABILITIES, OPS, PER_OP


class CompiledOps:
    """``torch.compile`` of each torch op per configuration, cached."""

    def __init__(self, ops=OPS):
        self.ops = dict(ops)
        self.cache: dict[tuple, object] = {}

    def compiled(self, op: str, cfg: dict):
        import torch

        key = (op, repr(sorted(cfg.items())))
        if key not in self.cache:
            fn = self.ops[op]

            def call(*args):
                return fn(*args, **cfg)

            self.cache[key] = torch.compile(call, dynamic=False)
        return self.cache[key]


def _configure_dynamo() -> None:
    import torch._dynamo.config as dc

    for name in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit"):
        if hasattr(dc, name):
            setattr(dc, name, 100_000)
    if hasattr(dc, "accumulated_cache_size_limit"):
        dc.accumulated_cache_size_limit = 100_000


#: torch's loggers that print, besides raising, an error of a configuration being traced
TRACING_LOGGERS = ("torch._subclasses.fake_tensor",)


def _quiet_tracing() -> None:
    """Keep the errors of tracing out of stderr (they are raised, and the suite reports
    them with the example): only a critical record of these loggers is printed."""
    for name in TRACING_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


class CompileTarget(TorchTarget):
    """A :class:`TorchTarget` whose calls go through compiled functions."""

    def __init__(self, **kw):
        self.compiled_ops = CompiledOps()
        super().__init__(self.compiled_ops.ops, **kw)

    def _call(self, case: Case):
        kw = dict(case.cfg)
        if case.return_indices:
            kw["return_indices"] = True
        fn = self.compiled_ops.compiled(case.op, kw)
        return fn(*self._tensors(case, case.primals))

    def _jvp(self, case: Case, tangents):
        raise NotProvided("torch-compile: no JVP (torch.func.jvp runs compiled code eagerly)")

    def _vjp(self, case: Case, cotangent):
        import torch

        caps = self.capabilities(case.op)
        names = case.record.inputs
        diff = [i for i, n in enumerate(names) if n in caps.inputs_with_derivatives(case.op)]
        primals = self._tensors(case, case.primals)
        for i in diff:
            primals[i] = primals[i].detach().requires_grad_(True)
        fn = self.compiled_ops.compiled(case.op, dict(case.cfg))
        y = fn(*primals)
        ct = to_tensor(cotangent, case.dtype, self.device, case.layout, case.batched)
        bars = torch.autograd.grad(y, [primals[i] for i in diff], ct, allow_unused=True)
        out: list = [None] * len(primals)
        for i, b in zip(diff, bars):
            out[i] = torch.zeros_like(primals[i]) if b is None else b
        return tuple(out)


def make_target(device: str = "cpu") -> CompileTarget:
    _configure_dynamo()
    _quiet_tracing()
    caps = CAPABILITIES.replace(gradients=("vjp",))
    per_op = {op: c.replace(gradients=("vjp",)) for op, c in PER_OP.items()}
    return CompileTarget(
        name="torch-compile",
        capabilities=caps,
        per_op=per_op,
        device=device,
        construct=construct_for("torch-compile", device),
    )
