"""The ``triton`` target: ndpool.impl's Triton kernels (:mod:`ndpool.impl.triton.pooling`).

The entry points have the signatures, checks and semantics of :mod:`ndpool.impl` for
max, average, Lp and smooth max pooling and the two adaptive ops, on any spatial rank,
every padding form, per-channel parameters, the four dtypes and any memory layout;
derivatives (JVP and VJP, parameters included) run through the kernels' own forward-mode
rules and deterministic gather backward passes. Every way of differentiating that the
suite draws for a torch target runs through the kernels (``derivative_modes=True``):
``torch.func.jvp`` / ``vjp``, forward-mode dual numbers, eager ``torch.autograd.grad``,
and ``torch.func.jacfwd`` / ``jacrev`` (a vmapped JVP or VJP: the kernels' vmap rule
folds the vmapped dimension into the channel axis). The other ops of the spec have no
kernel and are reported as not provided.

On ``device="cpu"`` the kernels run under Triton's interpreter: loading the target sets
``TRITON_INTERPRET=1`` before the kernels are imported, and fails if they were already
imported compiled (for a GPU) in this process. On ``device="cuda"`` they run compiled.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings

from .base import Capabilities, construct_for
from .torch_callables import TorchTarget

#: the module whose ``triton.jit`` decorations fix the mode (interpreted or compiled)
KERNELS = "ndpool.impl.triton.kernels"
#: the module whose NumPy calls run a kernel under the interpreter
INTERPRETER = "triton.runtime.interpreter"

#: every option ndpool.impl takes, with the values the kernels compute
#: (``KERNEL_OPTIONS``: other values stay on impl's torch path); no convention option
#: beyond the spec's defaults; any padding >= 0, as the spec (no padding limit)
CAPABILITIES = Capabilities(
    error_ids=True, devices=("cpu", "cuda"), option_values={"reduction": ("sum",)}
)


def _interpreter_on() -> None:
    """Turn Triton's interpreter on for kernels not yet imported; fail clearly if they
    were imported compiled."""
    if KERNELS in sys.modules:
        from ndpool.impl.triton.pooling import interpreted

        if not interpreted():
            raise RuntimeError(
                "the triton target on CPU needs Triton's interpreter, but "
                f"{KERNELS} was already imported compiled (without TRITON_INTERPRET=1) in "
                "this process: set TRITON_INTERPRET=1 in the environment before anything "
                "imports ndpool.impl.triton's kernels, or run on a GPU with --device cuda"
            )
        return
    os.environ["TRITON_INTERPRET"] = "1"


class TritonTarget(TorchTarget):
    """:class:`TorchTarget` over the Triton entry points. The interpreter evaluates both
    arms of every ``tl.where`` with NumPy (``log(0)``, ``inf - inf`` in the arm not
    taken): its RuntimeWarnings say nothing about the result and are silenced."""

    def forward(self, case):
        with _quiet_interpreter():
            return super().forward(case)

    def jvp(self, case, tangents, mode="default"):
        with _quiet_interpreter():
            return super().jvp(case, tangents, mode)

    def vjp(self, case, cotangent, mode="default"):
        with _quiet_interpreter():
            return super().vjp(case, cotangent, mode)


@contextlib.contextmanager
def _quiet_interpreter():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=INTERPRETER)
        yield


def make_target(device: str = "cpu") -> TorchTarget:
    if device == "cpu":
        _interpreter_on()
    pooling = importlib.import_module("ndpool.impl.triton.pooling")
    return TritonTarget(
        pooling.OPS,
        name="triton",
        capabilities=CAPABILITIES,
        device=device,
        construct=construct_for("triton", device),
        derivative_modes=True,
    )
