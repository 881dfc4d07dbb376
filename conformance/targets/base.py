"""The target protocol: anything that implements some of the spec's ops, and what it declares it
supports.

The suite talks to a target only through :class:`Target`: ``forward``, ``jvp`` and
``vjp`` of one :class:`~ndpool.conformance.cases.Case`, with NumPy arrays in and out
(float64 arrays holding values of the case's dtype; indices as int64). Two adapters
cover almost everything:

- :class:`NumpyTarget` wraps *any object with one attribute per op* (a module, a
  ``types.SimpleNamespace``) whose attributes are NumPy-in/NumPy-out functions with the
  spec's signatures. Gradients are optional: a generic ``jvp(op, primals, tangents,
  **cfg)`` / ``vjp(op, primals, cotangent, **cfg)`` pair (the spec's own signatures), or
  per-op ``<op>_jvp`` / ``<op>_vjp`` attributes with the same arguments minus ``op``.
  ``ndpool.spec`` itself is such an object (and conforms, of course).
- :class:`~ndpool.conformance.targets.torch_callables.TorchTarget` wraps torch callables
  and gets JVP/VJP from ``torch.func``; it runs on any device, dtype and memory layout.

What a target supports is *declared* in :class:`Capabilities` (never probed): the suite
draws only configurations inside them, and reports an op the target lacks as
"not provided". The built-in targets and the loading of a user's target are in
:mod:`ndpool.conformance.targets`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ndpool import spec

from ..cases import Case, from_dtype

#: the built-in targets' known-deviations registries, ``<target name>.toml``
DEVIATIONS_DIR = Path(__file__).with_name("deviations")

#: the default dtypes: the float dtypes every op takes. The integer dtypes
#: (:data:`~ndpool.conformance.cases.INTEGER_DTYPES`, for the ops that take them) are drawn
#: only where a target declares them
ALL_DTYPES = ("float16", "bfloat16", "float32", "float64")
#: the padding limits a target may declare (``Capabilities.padding_limit``): ``None``, any
#: padding >= 0 (the spec); ``"half_kernel"``, the limit C6 (each padding amount at most
#: half the effective kernel, ``ndpool.spec.constraints.CAPABILITY_LIMITS``)
PADDING_LIMITS = (None, "half_kernel")
#: the memory layouts ``x`` is drawn in (:func:`memory_order`, :func:`numpy_layout`; a
#: torch target's ``to_tensor``): ``contiguous``; ``channels_last``, the channel axis
#: innermost (torch's ``channels_last`` for a batched 4-D ``x``, ``channels_last_3d`` for
#: a batched 5-D one); ``transposed``, the spatial axes in reversed memory order
#: (strides not descending); ``strided``, a view with a step of 2 and an offset on every
#: spatial axis (not dense: its storage has gaps)
ALL_LAYOUTS = ("contiguous", "channels_last", "transposed", "strided")
#: earlier names of layouts, still understood: ``noncontiguous`` is ``strided``
LAYOUT_ALIASES = {"noncontiguous": "strided"}
ALL_PADDING_FORMS = ("int", "ints", "pairs", "valid", "same", "same_lower")


@dataclass(frozen=True)
class Capabilities:
    """What a target declares it supports for one op (defaults: everything the spec has).

    ``config_keys`` are the keywords the target accepts (``None``: all of the op's
    ``config_defaults``); a keyword left out is never drawn and takes the spec's default.
    ``option_values`` restricts enumerated options, e.g. ``{"sign": ("signed",)}``.
    A *convention option* (an option the spec's record marks ``convention``: a named spec
    option for a convention frameworks disagree on, such as max_pool's ``signed_zeros``) is
    drawn only
    when ``option_values`` declares it: the value is the convention the framework follows
    by itself, which reaches the spec reference but not the framework call
    (:func:`follow_conventions`); a target that declares nothing gets the spec's default.
    ``layouts``: the memory layouts of ``x`` (:data:`ALL_LAYOUTS`; each is defined for every
    rank, see :func:`memory_order`) in which the target receives it, and a torch target
    its JVP tangents and VJP cotangents too.
    ``param_forms``: ``"scalar"``, ``"per_channel"`` and/or ``"per_position"`` (``[C, *O]``,
    for the inputs the spec declares per position: the Gumbel temperature) for extra
    inputs such as ``norm_type``. ``differentiable``: inputs with derivatives (``None``: all
    inputs).
    ``empty_batch``: inputs with N = 0 or C = 0 (the corpus has both).
    ``gradients``: ``"jvp"`` and/or ``"vjp"``. ``error_ids``: rejections carry the spec's
    constraint id (``C1``...) at the start of the message. ``typed_config``: the target's
    configuration is typed by its format (ONNX attributes are ints, floats, strings), so a
    keyword or parameter of the wrong Python type cannot reach it: the wrong-type breakers
    of ``invalid_config`` are not drawn.
    ``dtypes``: the float dtypes by default; a target that takes integer inputs for the ops
    that have them (max pooling: ``int8``, ``uint8``, ... ``int64``) declares them here
    (per op), and is then checked on them, exactly (forward properties only: integers
    have no derivatives, and positive scaling does not hold in a bounded integer type).
    ``padding_limit``: ``None`` (default: any padding >= 0, as the spec, so windows wholly
    in padding are drawn) or ``"half_kernel"`` (the capability limit C6: every padding
    amount at most ``floor((dilation*(kernel-1)+1)/2)``, PyTorch's limit): a target that
    declares it is never drawn a padding past it.
    """

    dtypes: tuple[str, ...] = ALL_DTYPES
    ranks: tuple[int, ...] = (1, 2, 3, 4, 5)
    layouts: tuple[str, ...] = ALL_LAYOUTS
    batched: tuple[bool, ...] = (True, False)
    padding_forms: tuple[str, ...] = ALL_PADDING_FORMS
    config_keys: tuple[str, ...] | None = None
    option_values: dict[str, tuple] = field(default_factory=dict)
    param_forms: tuple[str, ...] = ("scalar", "per_channel", "per_position")
    differentiable: tuple[str, ...] | None = None
    gradients: tuple[str, ...] = ("jvp", "vjp")
    return_indices: bool = True
    empty_batch: bool = True
    error_ids: bool = False
    devices: tuple[str, ...] = ("cpu",)
    typed_config: bool = False
    padding_limit: str | None = None

    def __post_init__(self):
        if self.padding_limit not in PADDING_LIMITS:
            raise ValueError(
                f"padding_limit={self.padding_limit!r} must be one of {PADDING_LIMITS}"
            )

    def replace(self, **changes: Any) -> Capabilities:
        return dataclasses.replace(self, **changes)

    def keys(self, op: str) -> tuple[str, ...]:
        defaults = spec.OPS[op].config_defaults
        return tuple(defaults) if self.config_keys is None else self.config_keys

    def inputs_with_derivatives(self, op: str) -> tuple[str, ...]:
        """The declared differentiable inputs, never one the spec has no derivative for
        (the random draws and indices of the stochastic poolers)."""
        record = spec.OPS[op]
        inputs = tuple(n for n, s in zip(record.inputs, record.input_specs) if s.differentiable)
        return inputs if self.differentiable is None else self.differentiable


def follow_conventions(op: str, cfg: dict[str, Any], caps: Capabilities) -> dict[str, Any]:
    """``cfg`` without the convention options of ``op``, for the framework call: the
    framework's behaviour *is* the declared value. A value other than the one the target
    declares (or, undeclared, the spec's default) cannot be honoured: ValueError."""
    out = dict(cfg)
    for option in spec.OPS[op].conventions:
        if option.name not in out:
            continue
        value = out.pop(option.name)
        follows = caps.option_values.get(option.name, (option.default,))
        if value not in follows:
            raise ValueError(f"this target follows {option.name}={follows[0]!r}, not {value!r}")
    return out


def triton_before_tensorflow() -> None:
    """Load Triton (where it is installed) before TensorFlow is imported: in that order the
    two LLVMs coexist; Triton loaded after TensorFlow (by ``torch._dynamo``, so by
    ``ndpool.impl`` or a torch target later in the same process) aborts the process."""
    if "tensorflow" not in sys.modules and "triton" not in sys.modules:
        if importlib.util.find_spec("triton") is not None:
            import triton  # noqa: F401


def construct_for(name: str, device: str = "cpu") -> str:
    """Reproducer lines that build the built-in target ``name``."""
    call = f"load_target({name!r})" if device == "cpu" else f"load_target({name!r}, {device!r})"
    return f"from ndpool.conformance.targets import load_target\ntarget = {call}"


class NotProvided(Exception):
    """The target does not implement this op (or this part of it, e.g. gradients)."""


class OutputMismatch(Exception):
    """A target's output is not of the kind the call asks for: values in the input's dtype
    (derivatives in their input's), indices of an integer dtype, on the target's device."""


def dtype_name(a: Any) -> str:
    """``a``'s dtype by name (``float32``, ``bfloat16``, ``int64``): NumPy, torch, JAX,
    TensorFlow, MLX... (the type's name where there is no dtype: a Python float)."""
    dt = getattr(a, "dtype", None)
    if dt is None:
        return type(a).__name__
    name = getattr(dt, "name", None)
    return name if isinstance(name, str) else str(dt).rsplit(".", 1)[-1]


class Target:
    """The interface the suite uses. Subclasses implement :meth:`_call`, and optionally
    :meth:`_jvp` / :meth:`_vjp`; everything else is shared."""

    name: str = "target"
    #: Reproducer lines that build this target (``target = ...``).
    construct: str = "target = ..."
    #: ``"declared"``: the convention options take the values the capabilities declare
    #: (the conventions the framework follows by itself); ``"spec"``: the spec's defaults,
    #: so that each declared convention shows up as a difference (``--conventions spec``)
    conventions: str = "declared"

    def __init__(
        self,
        name: str,
        capabilities: Capabilities | None = None,
        per_op: dict[str, Capabilities] | None = None,
        construct: str | None = None,
    ):
        self.name = name
        self.default_capabilities = capabilities or Capabilities()
        self.per_op = dict(per_op or {})
        if construct is not None:
            self.construct = construct

    # -- what is there -------------------------------------------------------------
    def provides(self, op: str) -> bool:
        raise NotImplementedError

    def capabilities(self, op: str) -> Capabilities:
        caps = self.per_op.get(op, self.default_capabilities)
        if self.conventions == "spec" and op in spec.OPS:
            names = {o.name for o in spec.OPS[op].conventions}
            values = {k: v for k, v in caps.option_values.items() if k not in names}
            caps = caps.replace(option_values=values)
        return caps

    def provides_gradient(self, op: str, kind: str) -> bool:
        return self.provides(op) and kind in self.capabilities(op).gradients

    # -- calls: float64 NumPy in (values of case.dtype), float64 NumPy out ------------
    def forward(self, case: Case):
        """``y`` or ``(y, indices)`` when ``case.return_indices``."""
        return self.outputs(case, self._call(case))

    def outputs(self, case: Case, out):
        """A forward call's output, checked (:meth:`expect`) and as float64 NumPy."""
        if case.return_indices:
            y, idx = out
            self.expect(y, case.dtype, "the values")
            self.expect(idx, "integer", "the indices")
            return from_dtype(y), np.asarray(idx).astype(np.int64)
        self.expect(out, case.dtype, "the output")
        return from_dtype(out)

    def call_modes(self, op: str) -> tuple[str, ...]:
        """The ways this target runs a forward call (:meth:`forward_in`): ``"eager"``, and
        for a target under a framework's transforms or compiler their names too (the
        ``invalid_config`` property checks that each rejects an invalid call)."""
        return ("eager",)

    def forward_in(self, case: Case, mode: str):
        """:meth:`forward` in one of :meth:`call_modes`."""
        if mode != "eager":
            raise ValueError(f"{self.name} has no call mode {mode!r}")
        return self.forward(case)

    def derivative_modes(self, case: Case, kind: str, finite: bool) -> tuple[str, ...]:
        """The ways this target forms the derivative ``kind`` (``"jvp"`` or ``"vjp"``) of
        the case: ``"default"`` (:meth:`_jvp` / :meth:`_vjp`), and for a framework with
        several differentiation entry points (forward-mode duals, Jacobians) their names
        too. The jvp, vjp and adjoint properties draw one per example. ``finite``: the
        spec's derivative is finite everywhere (a Jacobian, whose columns are JVPs with
        zero tangents elsewhere, holds the partials only then: ``0 * inf`` is NaN)."""
        return ("default",)

    def jvp(self, case: Case, tangents: tuple[np.ndarray, ...], mode: str = "default"):
        y, y_dot = (
            self._jvp(case, tangents) if mode == "default" else self._jvp_in(case, tangents, mode)
        )
        self.expect(y, case.dtype, "the JVP's primal output")
        self.expect(y_dot, case.dtype, "the JVP's tangent output")
        return from_dtype(y), from_dtype(y_dot)

    def vjp(self, case: Case, cotangent: np.ndarray, mode: str = "default") -> tuple:
        bars = (
            self._vjp(case, cotangent) if mode == "default" else self._vjp_in(case, cotangent, mode)
        )
        for name, b in zip(case.record.inputs, bars):
            if b is not None:
                self.expect(b, case.dtype, f"the VJP's cotangent of {name}")
        return tuple(None if b is None else from_dtype(b) for b in bars)

    def expect(self, out: Any, dtype: str, what: str) -> None:
        """Raise :class:`OutputMismatch` unless ``out`` has ``dtype`` (``"integer"``: any
        integer dtype) and sits where the target computes (:meth:`placement`)."""
        got = dtype_name(out)
        ok = got.startswith(("int", "uint")) if dtype == "integer" else got == dtype
        if not ok:
            raise OutputMismatch(f"{what} has dtype {got}, not {dtype}")
        wrong = self.placement(out)
        if wrong is not None:
            raise OutputMismatch(f"{what} is {wrong}")

    def placement(self, out: Any) -> str | None:
        """Where ``out`` lives, if that is not where the target computes (``None``: fine).
        Targets with devices override this."""
        return None

    def _call(self, case: Case):
        raise NotImplementedError

    def _jvp(self, case: Case, tangents):
        raise NotProvided(f"{self.name} has no JVP for {case.op}")

    def _vjp(self, case: Case, cotangent):
        raise NotProvided(f"{self.name} has no VJP for {case.op}")

    def _jvp_in(self, case: Case, tangents, mode: str):
        raise ValueError(f"{self.name} has no JVP mode {mode!r}")

    def _vjp_in(self, case: Case, cotangent, mode: str):
        raise ValueError(f"{self.name} has no VJP mode {mode!r}")

    @property
    def deviations_file(self) -> Path:
        """Its known-deviations registry (:data:`DEVIATIONS_DIR` ``/<name>.toml``, which may
        not exist: then the target registers none)."""
        return getattr(self, "_deviations_file", DEVIATIONS_DIR / f"{self.name}.toml")

    @deviations_file.setter
    def deviations_file(self, path) -> None:
        self._deviations_file = Path(path)

    def __repr__(self) -> str:
        return f"<ndpool conformance target {self.name!r}>"


def memory_order(layout: str, ndim: int, batched: bool = True) -> tuple[int, ...]:
    """The axes of an ``ndim``-axis ``x`` (``[N, C, *S]``, or ``[C, *S]`` unbatched) from
    the outermost in memory to the innermost, in ``layout`` (:data:`ALL_LAYOUTS`):

    - ``contiguous`` and ``strided``: ``x``'s own order (``strided`` then takes every other
      element of each spatial axis, :func:`strided_index`);
    - ``channels_last``: the channel axis innermost, ``[N, *S, C]`` (``[*S, C]``
      unbatched): torch's ``channels_last`` for batched 2-D pooling (4-D ``x``),
      ``channels_last_3d`` for batched 3-D pooling (5-D), the same rule for the ranks where
      torch has no such format;
    - ``transposed``: the spatial axes reversed, ``[N, C, *reversed(S)]`` (for d = 2 the
      transpose of the last two axes); for d = 1, where one axis has no order to reverse,
      every axis reversed (``[L, C, N]``, unbatched ``[L, C]``).
    """
    layout = LAYOUT_ALIASES.get(layout, layout)
    if layout not in ALL_LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known: {ALL_LAYOUTS}")
    axes = tuple(range(ndim))
    lead = 2 if batched else 1  # the first spatial axis
    if layout in ("contiguous", "strided") or ndim < 2:
        return axes
    if layout == "channels_last":
        return axes[: lead - 1] + axes[lead:] + (lead - 1,)
    spatial = axes[lead:]
    return axes[:lead] + spatial[::-1] if len(spatial) >= 2 else axes[::-1]


def strided_index(ndim: int, batched: bool = True) -> tuple[slice, ...]:
    """The ``strided`` layout's view of its buffer (whose spatial axes are twice as long):
    every other element of each spatial axis, from the second (a storage offset)."""
    lead = min(2 if batched else 1, ndim)
    return (slice(None),) * lead + (slice(1, None, 2),) * (ndim - lead)


def strided_buffer_shape(shape: tuple[int, ...], batched: bool = True) -> tuple[int, ...]:
    """The shape of the buffer the ``strided`` layout views (:func:`strided_index`)."""
    lead = min(2 if batched else 1, len(shape))
    return tuple(shape[:lead]) + tuple(2 * s for s in shape[lead:])


def numpy_layout(a: np.ndarray, layout: str, batched: bool = True) -> np.ndarray:
    """The same values in another memory layout (a NumPy view), as :func:`memory_order`
    defines it (``batched``: ``a`` is ``[N, C, *S]``, else ``[C, *S]``)."""
    layout = LAYOUT_ALIASES.get(layout, layout)
    order = memory_order(layout, a.ndim, batched)
    if layout == "strided" and a.ndim >= 2:
        big = np.zeros(strided_buffer_shape(a.shape, batched), dtype=a.dtype)
        index = strided_index(a.ndim, batched)
        big[index] = a
        return big[index]
    inverse = tuple(int(i) for i in np.argsort(order))
    return np.ascontiguousarray(np.transpose(a, order)).transpose(inverse)


def input_array(a, kind: str, dtype) -> np.ndarray | None:
    """An input after ``x`` as a target receives it: parameters in the case's dtype, random
    draws (``output``/``cell`` kinds) in float64 as drawn (rounding a uniform draw changes
    the pick), index inputs as int64, an absent optional input as ``None``."""
    if a is None or not isinstance(a, (np.ndarray, np.generic)):
        return a  # None, or a value of the wrong type drawn to be rejected: as it is
    if kind == "index":
        return np.asarray(a).astype(np.int64)
    if kind in ("output", "cell"):
        return np.asarray(a, dtype=np.float64)
    return np.asarray(a).astype(dtype)


class NumpyTarget(Target):
    """NumPy-in/NumPy-out functions with the spec's signatures, one attribute per op.

    Arrays are passed in ``case.dtype`` (NumPy has no bfloat16: don't declare it) and the
    case's layout; extra inputs (``norm_type``, ``beta``) as arrays of the same dtype.
    """

    def __init__(self, namespace: Any, name: str | None = None, **kw: Any):
        super().__init__(name or getattr(namespace, "__name__", type(namespace).__name__), **kw)
        self.namespace = namespace
        caps = self.default_capabilities
        if "bfloat16" in caps.dtypes:
            self.default_capabilities = caps.replace(
                dtypes=tuple(d for d in caps.dtypes if d != "bfloat16")
            )

    def provides(self, op: str) -> bool:
        return callable(getattr(self.namespace, op, None))

    def _arrays(self, case: Case, arrays) -> list[np.ndarray]:
        dt = np.dtype(case.dtype)
        x = numpy_layout(np.asarray(arrays[0]).astype(dt), case.layout, case.batched)
        kinds = [s.kind for s in case.record.input_specs[1:]]
        return [x] + [input_array(a, kind, dt) for a, kind in zip(arrays[1:], kinds)]

    def _call(self, case: Case):
        fn = getattr(self.namespace, case.op)
        kw = dict(case.cfg)
        if case.return_indices:
            kw["return_indices"] = True
        return fn(*self._arrays(case, case.primals), **kw)

    def _gradient(self, kind: str, op: str) -> Callable | None:
        per_op = getattr(self.namespace, f"{op}_{kind}", None)
        if callable(per_op):
            return per_op
        generic = getattr(self.namespace, kind, None)
        if callable(generic):
            return lambda *a, **kw: generic(op, *a, **kw)
        return None

    def provides_gradient(self, op: str, kind: str) -> bool:
        return super().provides_gradient(op, kind) and self._gradient(kind, op) is not None

    def _jvp(self, case: Case, tangents):
        fn = self._gradient("jvp", case.op)
        if fn is None:
            raise NotProvided(f"{self.name} has no jvp")
        return fn(
            tuple(self._arrays(case, case.primals)), tuple(self._arrays(case, tangents)), **case.cfg
        )

    def _vjp(self, case: Case, cotangent):
        fn = self._gradient("vjp", case.op)
        if fn is None:
            raise NotProvided(f"{self.name} has no vjp")
        ct = np.asarray(cotangent).astype(np.dtype(case.dtype))
        return fn(tuple(self._arrays(case, case.primals)), ct, **case.cfg)
