"""A :class:`~ndpool.conformance.targets.Target` for torch callables.

Each op is a callable ``fn(x, *params, **cfg)`` on ``torch.Tensor`` (the spec's
signature; ``params`` are 0-d or ``[C]`` tensors). The helper converts the case's
arrays to the requested dtype and device, ``x`` -- and in every derivative mode the
tangent of ``x`` and the output's cotangent -- in the case's memory layout
(:func:`to_tensor`), and gets JVP and VJP from ``torch.func`` (``jvp`` / ``vjp``) with
respect to the inputs the capabilities mark differentiable, so a target only has to
provide forward functions. With
``derivative_modes=True`` the suite also draws forward-mode dual numbers, eager
``torch.autograd.grad`` and ``torch.func``'s Jacobians (``jacfwd``, ``jacrev``: a
vmapped JVP or VJP) as the way to differentiate, each held to the same bound::

    import torch.nn.functional as F
    from ndpool.conformance.targets import TorchTarget
    from ndpool.conformance.targets import Capabilities

    target = TorchTarget(
        {"max_pool": lambda x, *, kernel_size, **kw: F.max_pool2d(x, kernel_size, **kw)},
        name="my-max-pool",
        capabilities=Capabilities(
            ranks=(2,), padding_forms=("int", "ints"), padding_limit="half_kernel"
        ),
        device="cpu",
    )
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..cases import Case
from .base import (
    LAYOUT_ALIASES,
    Capabilities,
    NotProvided,
    Target,
    memory_order,
    strided_buffer_shape,
    strided_index,
)

TORCH_DTYPES = ("float16", "bfloat16", "float32", "float64")
#: the call modes a torch target may declare (:meth:`TorchTarget.forward_in`)
MODES = ("eager", "torch.func", "torch.compile")
#: the derivative modes past ``"default"`` (``torch.func.jvp`` / ``torch.func.vjp``) a
#: torch target may declare (:meth:`TorchTarget.derivative_modes`): forward-mode dual
#: numbers, eager autograd, and the Jacobians of ``torch.func`` (a vmapped JVP or VJP)
#: contracted with the tangents or the cotangent (float64 cases only)
DERIVATIVE_MODES = {"jvp": ("forward_ad", "jacfwd"), "vjp": ("autograd", "jacrev")}
#: the most Jacobian entries (outputs times differentiable input elements) the Jacobian
#: modes form: larger cases take the other modes only
JACOBIAN_ENTRIES = 1 << 16


def _torch():
    import torch

    return torch


def to_tensor(a: np.ndarray, dtype: str, device: str, layout: str = "contiguous", batched=True):
    """A tensor with ``a``'s values in ``dtype`` on ``device`` in ``layout``
    (:func:`~.base.memory_order`; ``batched``: ``a`` is ``[N, C, *S]``, else ``[C, *S]``).
    ``channels_last`` is torch's own memory format where torch has one: ``channels_last``
    for a batched 4-D tensor, ``channels_last_3d`` for a batched 5-D one."""
    torch = _torch()
    t = torch.from_numpy(np.array(a, dtype=np.float64, copy=True))  # keeps 0-d arrays 0-d
    t = t.to(device=device, dtype=getattr(torch, dtype))
    layout = LAYOUT_ALIASES.get(layout, layout)
    order = memory_order(layout, t.ndim, batched)
    if layout == "strided" and t.ndim >= 2:
        big = torch.zeros(strided_buffer_shape(t.shape, batched), dtype=t.dtype, device=t.device)
        index = strided_index(t.ndim, batched)
        big[index] = t
        return big[index]
    if layout == "channels_last" and batched and t.ndim in (4, 5):
        fmt = torch.channels_last if t.ndim == 4 else torch.channels_last_3d
        return t.contiguous(memory_format=fmt)
    inverse = tuple(int(i) for i in np.argsort(order))
    return t.permute(order).contiguous().permute(inverse)


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
        derivative_modes: bool = False,
    ):
        super().__init__(name, capabilities, per_op, construct)
        self.ops = ops
        self.device = device
        unknown = set(modes) - set(MODES)
        if unknown:
            raise ValueError(f"unknown call modes {sorted(unknown)}; known: {MODES}")
        self.modes = tuple(modes)
        self.all_derivative_modes = derivative_modes

    def call_modes(self, op: str) -> tuple[str, ...]:
        return self.modes

    def derivative_modes(self, case: Case, kind: str, finite: bool) -> tuple[str, ...]:
        """``"default"``, and with ``derivative_modes=True`` the :data:`DERIVATIVE_MODES`
        (the Jacobian ones for non-empty float64 cases of at most
        :data:`JACOBIAN_ENTRIES` entries whose spec derivative is finite)."""
        if not self.all_derivative_modes:
            return ("default",)
        from ndpool import spec

        y_size = int(np.prod(spec.output_shape(case.op, case.x.shape, **case.cfg)))
        in_size = sum(int(np.size(p)) for p in case.primals if p is not None)
        # an empty Jacobian has nothing to check (and vmap cannot batch over size 0); in a
        # narrower dtype a Jacobian entry may overflow where the JVP, a sum of products
        # formed before the one rounding, does not: +inf + -inf would be the harness's NaN
        jacobians = finite and 0 < y_size * in_size <= JACOBIAN_ENTRIES and case.dtype == "float64"
        return ("default",) + tuple(
            m for m in DERIVATIVE_MODES[kind] if jacobians or not m.startswith("jac")
        )

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
        return self._jvp_in(case, tangents, "default")

    def _vjp(self, case: Case, cotangent):
        return self._vjp_in(case, cotangent, "default")

    def _jvp_in(self, case: Case, tangents, mode: str):
        """The JVP by ``torch.func.jvp`` (``"default"``), forward-mode dual numbers
        (``"forward_ad"``) or the Jacobian of ``torch.func.jacfwd`` contracted with the
        tangents (``"jacfwd"``; a zero tangent adds 0, the spec's rule)."""
        if "jvp" not in self.capabilities(case.op).gradients:
            raise NotProvided(f"{self.name} declares no JVP for {case.op}")
        torch = _torch()
        diff, primals, f = self._split(case)
        args = tuple(primals[i] for i in diff)
        tans = tuple(
            to_tensor(tangents[i], case.dtype, self.device, case.layout, case.batched)
            if i == 0
            else to_tensor(tangents[i], case.dtype, self.device)
            for i in diff
        )
        if mode == "default":
            return torch.func.jvp(f, args, tans)
        if mode == "forward_ad":
            import torch.autograd.forward_ad as fwad

            with fwad.dual_level():
                out = f(*(fwad.make_dual(a, t) for a, t in zip(args, tans)))
                y, y_dot = fwad.unpack_dual(out)
                y_dot = torch.zeros_like(y) if y_dot is None else y_dot.clone()
                return y.detach().clone(), y_dot
        if mode == "jacfwd":
            y = f(*args)
            jacs = torch.func.jacfwd(f, argnums=tuple(range(len(args))))(*args)
            y_dot = sum(_contract(j, t, y.numel()).reshape(y.shape) for j, t in zip(jacs, tans))
            return y, y_dot.to(y.dtype)
        raise ValueError(f"{self.name} has no JVP mode {mode!r}")

    def _vjp_in(self, case: Case, cotangent, mode: str):
        """The VJP by ``torch.func.vjp`` (``"default"``), eager ``torch.autograd.grad``
        (``"autograd"``) or the Jacobian of ``torch.func.jacrev`` contracted with the
        cotangent (``"jacrev"``; a zero cotangent adds 0, the spec's rule)."""
        if "vjp" not in self.capabilities(case.op).gradients:
            raise NotProvided(f"{self.name} declares no VJP for {case.op}")
        torch = _torch()
        diff, primals, f = self._split(case)
        args = tuple(primals[i] for i in diff)
        # the cotangent in the case's layout too (y has x's rank and batch axis), so that a
        # backward pass sees a non-contiguous grad_output
        ct = to_tensor(cotangent, case.dtype, self.device, case.layout, case.batched)
        if mode == "default":
            _, pullback = torch.func.vjp(f, *args)
            bars = pullback(ct)
        elif mode == "autograd":
            leaves = tuple(a.detach().requires_grad_() for a in args)
            grads = torch.autograd.grad(f(*leaves), leaves, ct, allow_unused=True)
            bars = tuple(torch.zeros_like(a) if g is None else g for a, g in zip(args, grads))
        elif mode == "jacrev":
            jacs = torch.func.jacrev(f, argnums=tuple(range(len(args))))(*args)
            bars = tuple(
                _contract(j.reshape(ct.numel(), -1).t(), ct, a.numel()).reshape(a.shape).to(a.dtype)
                for j, a in zip(jacs, args)
            )
        else:
            raise ValueError(f"{self.name} has no VJP mode {mode!r}")
        out: list = [None] * len(primals)
        for i, b in zip(diff, bars):
            out[i] = b
        return tuple(out)


def _contract(jac, v, rows: int):
    """``jac`` (``rows`` by ``v``'s elements) times ``v`` in float64, where a zero entry of
    ``v`` adds 0 even against a NaN or infinite partial (the spec's rule)."""
    torch = _torch()
    j = jac.reshape(rows, -1).double()
    vv = v.reshape(-1).double()
    return torch.where(vv == 0, 0.0, j * vv).sum(-1)
