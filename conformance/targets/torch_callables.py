"""A :class:`~ndpool.conformance.targets.Target` for torch callables.

Each op is a callable ``fn(x, *params, **cfg)`` on ``torch.Tensor`` (the spec's
signature; ``params`` are 0-d or ``[C]`` tensors). The helper converts the case's
arrays to the requested dtype, device and memory layout, and gets JVP and VJP from
``torch.func`` (``jvp`` / ``vjp``) with respect to the inputs the capabilities mark
differentiable, so a target only has to provide forward functions::

    import torch.nn.functional as F
    from ndpool.conformance.targets import TorchTarget
    from ndpool.conformance.targets import Capabilities

    target = TorchTarget(
        {"max_pool": lambda x, *, kernel_size, **kw: F.max_pool2d(x, kernel_size, **kw)},
        name="my-max-pool",
        capabilities=Capabilities(ranks=(2,), padding_forms=("int", "ints")),
        device="cpu",
    )
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..cases import Case
from .base import Capabilities, NotProvided, Target

TORCH_DTYPES = ("float16", "bfloat16", "float32", "float64")
#: the call modes a torch target may declare (:meth:`TorchTarget.forward_in`)
MODES = ("eager", "torch.func", "torch.compile")


def _torch():
    import torch

    return torch


def to_tensor(a: np.ndarray, dtype: str, device: str, layout: str = "contiguous", batched=True):
    """A tensor with ``a``'s values in ``dtype`` on ``device`` in ``layout``."""
    torch = _torch()
    t = torch.from_numpy(np.array(a, dtype=np.float64, copy=True))  # keeps 0-d arrays 0-d
    t = t.to(device=device, dtype=getattr(torch, dtype))
    if layout == "contiguous" or t.ndim < 2:
        return t.contiguous()
    if layout == "channels_last":
        cdim = 1 if batched else 0
        return t.movedim(cdim, -1).contiguous().movedim(-1, cdim)
    if layout == "noncontiguous":
        big = torch.zeros(t.shape[:-1] + (2 * t.shape[-1],), dtype=t.dtype, device=t.device)
        big[..., ::2] = t
        return big[..., ::2]
    raise ValueError(f"unknown layout {layout!r}")


class TorchTarget(Target):
    """Torch callables, one per op; JVP/VJP from ``torch.func``."""

    def __init__(
        self,
        ops: dict[str, Callable] | Any,
        name: str = "torch-callables",
        capabilities: Capabilities | None = None,
        per_op: dict[str, Capabilities] | None = None,
        device: str = "cpu",
        construct: str | None = None,
        modes: tuple[str, ...] = ("eager",),
    ):
        super().__init__(name, capabilities, per_op, construct)
        self.ops = ops
        self.device = device
        unknown = set(modes) - set(MODES)
        if unknown:
            raise ValueError(f"unknown call modes {sorted(unknown)}; known: {MODES}")
        self.modes = tuple(modes)

    def call_modes(self, op: str) -> tuple[str, ...]:
        return self.modes

    def forward_in(self, case: Case, mode: str):
        """``"eager"``; ``"torch.func"``: the call inside ``torch.func.vjp`` (the forward of
        a transform, where inputs are wrapped); ``"torch.compile"``: through
        ``torch.compile`` (Dynamo's tracing with the ``eager`` backend, a fresh compile)."""
        if mode == "eager":
            return self.forward(case)
        torch = _torch()
        fn = self._fn(case.op)
        kw = dict(case.cfg)
        if case.return_indices:
            kw["return_indices"] = True
        args = self._tensors(case, case.primals)
        if mode == "torch.func":
            out, _ = torch.func.vjp(lambda x: fn(x, *args[1:], **kw), args[0])
        elif mode == "torch.compile":
            torch._dynamo.reset()
            out = torch.compile(lambda x: fn(x, *args[1:], **kw), backend="eager")(args[0])
        else:
            raise ValueError(f"{self.name} has no call mode {mode!r}")
        return self.outputs(case, out)

    def placement(self, out) -> str | None:
        torch = _torch()
        if isinstance(out, torch.Tensor) and out.device.type != torch.device(self.device).type:
            return f"on {out.device}, not on the target's device {self.device}"
        return None

    def _fn(self, op: str) -> Callable | None:
        fn = self.ops.get(op) if isinstance(self.ops, dict) else getattr(self.ops, op, None)
        return fn if callable(fn) else None

    def provides(self, op: str) -> bool:
        return self._fn(op) is not None

    def _tensors(self, case: Case, arrays, layout: str | None = None) -> list:
        """``x`` in the case's dtype and layout; parameters in the dtype; random draws
        (``output``/``cell`` inputs) in float64 as drawn (rounding ``u`` to float16 would
        change the pick); index inputs as int64; ``None`` (an absent optional input, e.g.
        the noise in ``mode="eval"``) passed through."""
        x = to_tensor(arrays[0], case.dtype, self.device, layout or case.layout, case.batched)
        rest = []
        for a, spec_ in zip(arrays[1:], case.record.input_specs[1:]):
            if a is None or not isinstance(a, (np.ndarray, np.generic)):
                rest.append(a)  # None, or a value of the wrong type drawn to be rejected
            elif spec_.kind == "index":
                torch = _torch()
                rest.append(torch.as_tensor(np.asarray(a, dtype=np.int64), device=self.device))
            elif spec_.kind in ("output", "cell"):
                rest.append(to_tensor(a, "float64", self.device))
            else:
                rest.append(to_tensor(a, case.dtype, self.device))
        return [x, *rest]

    def _call(self, case: Case):
        fn = self._fn(case.op)
        kw = dict(case.cfg)
        if case.return_indices:
            kw["return_indices"] = True
        return fn(*self._tensors(case, case.primals), **kw)

    def _split(self, case: Case):
        """The positions of the differentiable inputs and a function of those only."""
        caps = self.capabilities(case.op)
        names = case.record.inputs
        # only differentiable inputs that are present (an absent optional input is None)
        diff = [
            i
            for i, n in enumerate(names)
            if n in caps.inputs_with_derivatives(case.op) and case.primals[i] is not None
        ]
        fn = self._fn(case.op)
        primals = self._tensors(case, case.primals)

        def f(*dargs):
            args = list(primals)
            for i, a in zip(diff, dargs):
                args[i] = a
            return fn(*args, **case.cfg)

        return diff, primals, f

    def _jvp(self, case: Case, tangents):
        if "jvp" not in self.capabilities(case.op).gradients:
            raise NotProvided(f"{self.name} declares no JVP for {case.op}")
        from torch.func import jvp

        diff, primals, f = self._split(case)
        tans = {
            i: to_tensor(tangents[i], case.dtype, self.device, case.layout, case.batched)
            if i == 0
            else to_tensor(tangents[i], case.dtype, self.device)
            for i in diff
        }
        return jvp(f, tuple(primals[i] for i in diff), tuple(tans[i] for i in diff))

    def _vjp(self, case: Case, cotangent):
        if "vjp" not in self.capabilities(case.op).gradients:
            raise NotProvided(f"{self.name} declares no VJP for {case.op}")
        from torch.func import vjp

        diff, primals, f = self._split(case)
        _, pullback = vjp(f, *(primals[i] for i in diff))
        ct = to_tensor(cotangent, case.dtype, self.device)
        bars = pullback(ct)
        out: list = [None] * len(primals)
        for i, b in zip(diff, bars):
            out[i] = b
        return tuple(out)
