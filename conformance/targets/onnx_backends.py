"""The ``onnxruntime`` and ``onnx-reference`` targets: one-node ONNX models.

Every case becomes a model of one node built with ``onnx.helper`` (input ``X`` with
symbolic ``N, C, *S``), run by ONNX Runtime (``onnxruntime``) or by
``onnx.reference.ReferenceEvaluator`` (``onnx-reference``). Built sessions are cached
by (node, attributes, dtype, rank, outputs), so a new shape reuses them.

The opset is a target option: ``onnxruntime`` / ``onnx-reference`` use opset 22,
``onnxruntime@18`` / ``onnx-reference@18`` (any ``@<opset>`` registered in
:data:`ndpool.conformance.targets.BUILTIN_TARGETS`) a lower one; ``make_target(backend,
opset=N)`` builds any.

How the spec's configuration maps to ONNX attributes:

==================  ==========================================================
spec                ONNX
==================  ==========================================================
``max_pool``        ``MaxPool`` (``Y``; ``Y, Indices`` with ``return_indices``)
``avg_pool``        ``AveragePool`` (``count_include_pad``; ``dilations``
                    from opset 19 only; no ``divisor_override``)
``lp_pool``         ``LpPool``, ``sign="abs"`` (ONNX takes ``|x|``), ``p`` an
                    integer attribute: a scalar, non-differentiable
                    ``norm_type``; a non-integer or infinite p is *not
                    expressible*
``adaptive_*``      ``output_size`` 1 on every axis: ``GlobalMaxPool`` /
                    ``GlobalAveragePool``; an ``output_size`` that divides
                    every axis: ``MaxPool`` / ``AveragePool`` with
                    ``kernel_shape = strides = L / n`` (exactly the adaptive
                    windows); any other size is not expressible
``kernel_size``     ``kernel_shape``; ``stride`` -> ``strides`` (default: the
                    kernel); ``dilation`` -> ``dilations``
``padding``         int / ints / ``(begin, end)`` pairs -> ``pads`` as
                    ``[b_1..b_d, e_1..e_d]``; ``"valid"`` / ``"same"`` /
                    ``"same_lower"`` -> ``auto_pad`` ``VALID`` /
                    ``SAME_UPPER`` / ``SAME_LOWER``
``ceil_mode``       ``ceil_mode``
indices             ``storage_order=0``; ONNX ``Indices`` are flat over the whole
                    ``[N, C, *S]`` tensor; the adapter subtracts
                    ``(n*C + c) * prod(S)`` to get the spec's (= PyTorch's)
                    per-plane index
unbatched ``[C,*S]`` run as ``[1, C, *S]``
conventions         what the backend follows by itself, declared as the spec
                    option naming it (it reaches the spec reference, never the
                    node): ONNX Runtime's ``MaxPool`` gives a window of padding
                    only the dtype's lowest finite value
                    (``empty_window="lowest"``); the reference evaluator's
                    ``LpPool`` is PyTorch's ``(K * AveragePool(|x|^p))^(1/p)``
                    (``partial_window="rescaled"``)
==================  ==========================================================

A case the adapter cannot express raises :class:`NotExpressible` (a
:class:`~ndpool.conformance.targets.NotProvided` that Hypothesis treats as a failed
``assume``: the example is discarded, never counted as a failure). ONNX has no
gradients, no bfloat16 on ONNX Runtime's CPU pooling kernels, and takes contiguous
buffers only: the capabilities say so. ``MaxPool`` takes int8 and uint8 too (declared for
``max_pool``; compared exactly, an empty window being the dtype's minimum). Any padding is
accepted by the ONNX operators (no padding limit declared).
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
from hypothesis.errors import UnsatisfiedAssumption

from ..cases import Case
from .base import (
    DEVIATIONS_DIR,
    Capabilities,
    NotProvided,
    Target,
    construct_for,
    follow_conventions,
)

DEFAULT_OPSET = 22
BACKENDS = {"onnxruntime": "onnxruntime", "reference": "onnx-reference"}
OPS = ("max_pool", "avg_pool", "lp_pool", "adaptive_max_pool", "adaptive_avg_pool")


class NotExpressible(NotProvided, UnsatisfiedAssumption):
    """This configuration has no ONNX equivalent (the example is discarded)."""


def _tuple(v, d: int) -> tuple[int, ...]:
    if isinstance(v, (tuple, list)):
        if len(v) != d:
            raise ValueError(f"expected {d} values, got {v!r}")
        return tuple(int(a) for a in v)
    return (int(v),) * d


def pool_attributes(cfg: dict[str, Any], d: int) -> dict[str, Any]:
    """ONNX attributes of a window pooling node for the spec's geometry keywords."""
    kernel = _tuple(cfg["kernel_size"], d)
    stride = cfg.get("stride")
    attrs: dict[str, Any] = {
        "kernel_shape": list(kernel),
        "strides": list(kernel if stride is None else _tuple(stride, d)),
    }
    dilation = cfg.get("dilation", 1)
    if dilation is not None and _tuple(dilation, d) != (1,) * d:
        attrs["dilations"] = list(_tuple(dilation, d))
    padding = cfg.get("padding", 0)
    if isinstance(padding, str):
        auto = {"valid": "VALID", "same": "SAME_UPPER", "same_lower": "SAME_LOWER"}
        if padding not in auto:
            raise ValueError(f"unknown padding {padding!r}")
        attrs["auto_pad"] = auto[padding]
    else:
        if isinstance(padding, (tuple, list)) and any(
            isinstance(p, (tuple, list)) for p in padding
        ):
            pairs = [tuple(int(a) for a in p) for p in padding]
        else:
            pairs = [(p, p) for p in _tuple(padding, d)]
        if len(pairs) != d:
            raise ValueError(f"padding {padding!r} for rank {d}")
        attrs["pads"] = [b for b, _ in pairs] + [e for _, e in pairs]
    if cfg.get("ceil_mode"):
        attrs["ceil_mode"] = 1
    return attrs


def _elem_type(dtype: str) -> int:
    from onnx import TensorProto

    return {
        "float16": TensorProto.FLOAT16,
        "float32": TensorProto.FLOAT,
        "float64": TensorProto.DOUBLE,
        "int8": TensorProto.INT8,
        "uint8": TensorProto.UINT8,
    }[dtype]


def build_model(op_type: str, attrs: dict[str, Any], dtype: str, rank: int, indices: bool, opset):
    """A one-node model ``Y[, Indices] = op_type(X)`` with symbolic input dims."""
    from onnx import TensorProto, helper

    dims = ["N", "C"] + [f"S{i}" for i in range(rank - 2)]
    x = helper.make_tensor_value_info("X", _elem_type(dtype), dims)
    outputs = [helper.make_tensor_value_info("Y", _elem_type(dtype), None)]
    if indices:
        outputs.append(helper.make_tensor_value_info("Indices", TensorProto.INT64, None))
    node = helper.make_node(op_type, ["X"], [o.name for o in outputs], **attrs)
    graph = helper.make_graph([node], f"ndpool_{op_type}", [x], outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    return model


class OnnxTarget(Target):
    """One-node ONNX models through ONNX Runtime or the ONNX reference evaluator."""

    def __init__(self, backend: str = "onnxruntime", opset: int = DEFAULT_OPSET, name=None):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {sorted(BACKENDS)}, got {backend!r}")
        base = BACKENDS[backend]
        name = name or (base if opset == DEFAULT_OPSET else f"{base}@{opset}")
        super().__init__(
            name,
            capabilities(backend, opset),
            per_op_capabilities(backend, opset),
            construct=construct_for(name),
        )
        self.backend = backend
        self.opset = opset
        #: registry file: the opset does not change the conventions, so "onnxruntime@18"
        #: shares deviations/onnxruntime.toml
        self.deviations_file = DEVIATIONS_DIR / f"{base}.toml"
        self._sessions: dict[tuple, Any] = {}

    def provides(self, op: str) -> bool:
        return op in OPS

    # -- the node for a case -----------------------------------------------------------
    def node_for(self, case: Case) -> tuple[str, dict[str, Any]]:
        """``(op_type, attributes)`` for ``case`` (raises NotExpressible)."""
        d = case.d
        try:
            cfg = follow_conventions(case.op, case.cfg, self.capabilities(case.op))
        except ValueError as exc:
            raise NotExpressible(f"{self.name}: {exc}") from exc
        if case.op in ("adaptive_max_pool", "adaptive_avg_pool"):
            kind = "Max" if case.op == "adaptive_max_pool" else "Average"
            spatial = case.x.shape[-d:]
            sizes = cfg["output_size"]
            sizes = list(sizes) if isinstance(sizes, (tuple, list)) else [sizes] * d
            if len(sizes) != d:
                raise ValueError(f"output_size {sizes} for rank {d}")
            sizes = [length if n is None else int(n) for n, length in zip(sizes, spatial)]
            if any(n < 1 for n in sizes) or any(length < 1 for length in spatial):
                raise ValueError(f"output_size {sizes} / input {spatial}: must be positive")
            if all(n == 1 for n in sizes) and not case.return_indices:
                return f"Global{kind}Pool", {}  # (no Indices output: MaxPool below)
            if any(length % n for n, length in zip(sizes, spatial)):
                raise NotExpressible(
                    f"adaptive output_size {sizes} does not divide {spatial}: no ONNX node"
                )
            k = [length // n for n, length in zip(sizes, spatial)]
            attrs = {"kernel_shape": k, "strides": k}
            if kind == "Average":
                attrs["count_include_pad"] = 0
            return f"{kind}Pool", attrs
        attrs = pool_attributes(cfg, d)
        if case.op == "max_pool":
            return "MaxPool", attrs
        if case.op == "avg_pool":
            if cfg.get("divisor_override") is not None:
                raise NotExpressible("ONNX AveragePool has no divisor_override")
            if "dilations" in attrs and self.opset < 19:
                raise NotExpressible(f"AveragePool has no dilations before opset 19 ({self.opset})")
            attrs["count_include_pad"] = int(bool(cfg.get("count_include_pad", True)))
            return "AveragePool", attrs
        if case.op == "lp_pool":
            sign = cfg.get("sign", "abs")
            if sign != "abs":
                raise ValueError(f"ONNX LpPool takes |x| (sign='abs'), got sign={sign!r}")
            p = np.asarray(case.params[0], dtype=np.float64)
            if p.ndim != 0:
                raise ValueError(
                    f"ONNX LpPool's p is one integer, got norm_type of shape {p.shape}"
                )
            p = float(p)
            if not math.isfinite(p) or p != round(p):
                raise NotExpressible(f"ONNX LpPool's p is an integer attribute, got {p!r}")
            attrs["p"] = int(p)
            return "LpPool", attrs
        raise NotProvided(f"{self.name} has no {case.op}")

    def _session(self, op_type, attrs, dtype, rank, indices):
        key = (op_type, repr(sorted(attrs.items())), dtype, rank, indices)
        if key not in self._sessions:
            model = build_model(op_type, attrs, dtype, rank, indices, self.opset)
            if self.backend == "onnxruntime":
                import onnxruntime as ort

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = 1
                opts.inter_op_num_threads = 1
                sess = ort.InferenceSession(
                    model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
                )
                run = sess.run
            else:
                from onnx.reference import ReferenceEvaluator

                run = ReferenceEvaluator(model).run
            self._sessions[key] = run
        return self._sessions[key]

    def _call(self, case: Case):
        op_type, attrs = self.node_for(case)
        want_indices = case.return_indices
        if want_indices and op_type != "MaxPool":
            raise NotProvided(f"{op_type} has no Indices output")
        if want_indices:
            attrs = dict(attrs, storage_order=0)
        x = np.ascontiguousarray(np.asarray(case.x).astype(np.dtype(case.dtype)))
        if not case.batched:
            x = x[None]
        run = self._session(op_type, attrs, case.dtype, x.ndim, want_indices)
        outs = run(None, {"X": x})
        y = np.asarray(outs[0])
        if not case.batched:
            y = y[0]
        if not want_indices:
            return y
        idx = np.asarray(outs[1]).astype(np.int64)
        n, c = x.shape[:2]
        plane = math.prod(x.shape[2:])
        base = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * plane
        idx = idx - base.reshape((n, c) + (1,) * (idx.ndim - 2))
        return y, (idx if case.batched else idx[0])


def capabilities(backend: str, opset: int) -> Capabilities:
    # ONNX Runtime and the reference evaluator implement pooling for d = 1..3
    return Capabilities(
        dtypes=("float16", "float32", "float64"),
        ranks=(1, 2, 3),
        layouts=("contiguous",),
        gradients=(),
        typed_config=True,  # node attributes: ints, floats, strings
    )


#: ONNX Runtime's CPU kernels: MaxPool has float16/float/double, AveragePool, LpPool and
#: GlobalMaxPool/GlobalAveragePool no double ("Could not find an implementation")
ORT_NO_DOUBLE = ("avg_pool", "lp_pool", "adaptive_max_pool", "adaptive_avg_pool")


def per_op_capabilities(backend: str, opset: int) -> dict[str, Capabilities]:
    base = capabilities(backend, opset)
    dtypes = {op: base.dtypes for op in OPS}
    if backend == "onnxruntime":
        dtypes.update({op: ("float16", "float32") for op in ORT_NO_DOUBLE})
    avg_keys = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
    if opset >= 19:
        avg_keys = (*avg_keys, "dilation")
    lp_keys = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "sign")
    lp_values: dict[str, tuple] = {"sign": ("abs",)}
    max_values: dict[str, tuple] = {}
    # the running max starts at the lowest finite value (onnx-reference's LpPool rescales
    # a ceil_mode partial window, which the ONNX operator text contradicts: a deviation)
    if backend == "onnxruntime":
        max_values["empty_window"] = ("lowest",)
    # MaxPool (opset 12 on) also takes int8 and uint8 (the operator's type constraint T);
    # GlobalMaxPool, which adaptive_max_pool may become, takes floats only
    max_dtypes = (*base.dtypes, "int8", "uint8")
    return {
        "max_pool": base.replace(option_values=max_values, dtypes=max_dtypes),
        "avg_pool": base.replace(config_keys=avg_keys, dtypes=dtypes["avg_pool"]),
        "adaptive_max_pool": base.replace(dtypes=dtypes["adaptive_max_pool"]),
        "adaptive_avg_pool": base.replace(dtypes=dtypes["adaptive_avg_pool"]),
        "lp_pool": base.replace(
            dtypes=dtypes["lp_pool"],
            config_keys=lp_keys,
            option_values=lp_values,
            param_forms=("scalar",),
            differentiable=("x",),
        ),
    }


def make_target(backend: str = "onnxruntime", opset: int = DEFAULT_OPSET, device: str = "cpu"):
    """An :class:`OnnxTarget`; ``backend`` is ``"onnxruntime"`` or ``"reference"``."""
    if device != "cpu":
        raise ValueError(f"the ONNX targets run on the CPU, not {device!r}")
    needed = ("onnx", "onnxruntime") if backend == "onnxruntime" else ("onnx",)
    for module in needed:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ImportError(
                f"target {BACKENDS.get(backend, backend)!r} is not installed: no module "
                f"{module!r} (pip install -e '.[targets]')",
                name=module,
            ) from exc
    return OnnxTarget(backend, opset)
