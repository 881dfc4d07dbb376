"""The ``openvino`` target: one-node OpenVINO models (``MaxPool-14``, ``AvgPool-16``) compiled
for the CPU plugin.

Every case becomes a model of one node built with OpenVINO's Python API
(``openvino.opset14.max_pool``, ``openvino.opset16.avg_pool``: the newest opsets that
have them) on a ``Parameter`` of the case's static shape, compiled by ``ov.Core`` for
``"CPU"`` and run. Compiled models are cached by (op type, attributes, shape, dtype,
outputs; the :data:`CACHE_SIZE` most recently used), so a run is not dominated by
compiling.

How the spec's configuration maps to the node's attributes:

==================  ==========================================================
spec                OpenVINO
==================  ==========================================================
``max_pool``        ``MaxPool-14``; its first output only, or both outputs
                    with ``return_indices`` (the CPU plugin runs a node whose
                    indices are used on its reference implementation)
``avg_pool``        ``AvgPool-16`` (the first with ``dilations``; its
                    ``exclude_pad`` is ``not count_include_pad``; no
                    ``divisor_override``)
``kernel_size``     ``kernel``; ``stride`` -> ``strides`` (default: the
                    kernel); ``dilation`` -> ``dilations``
``padding``         int / ints / ``(begin, end)`` pairs -> ``pads_begin``,
                    ``pads_end`` (``auto_pad`` explicit); ``"valid"`` /
                    ``"same"`` / ``"same_lower"`` -> ``auto_pad`` ``valid`` /
                    ``same_upper`` / ``same_lower``
``ceil_mode``       ``rounding_type`` ``ceil_torch`` (a window may not start in
                    the end padding: the spec's rule), else ``floor``;
                    OpenVINO's plain ``ceil`` (which keeps such a window) has
                    no spec counterpart and is not used
indices             ``axis=2``: the index is flat over the spatial axes of one
                    (N, C) plane, the spec's (= PyTorch's) convention;
                    ``index_element_type`` ``i64``
unbatched ``[C,*S]`` run as ``[1, C, *S]``
dtypes              ``float16``, ``bfloat16``, ``float32``, ``float64``
                    (``bfloat16`` in and out through ``ml_dtypes``, declared only
                    where it is installed); ``INFERENCE_PRECISION_HINT`` is set to
                    the input's precision (the plugin's default on a CPU with
                    bfloat16 support is ``bf16``; for these one-node models the
                    float32 results were the same either way); ``float64`` is
                    accepted but computed in ``f32`` by the plugin (registered:
                    ``float64-computed-in-float32``)
==================  ==========================================================

What OpenVINO lacks is declared, not emulated: ranks 1..3 only (3-D to 5-D inputs), no
``divisor_override``, no gradients (OpenVINO is an inference runtime), no input with N = 0
or C = 0 (rejected by the pooling shape inference). The node's attributes are typed
(``Shape``, ``Strides``, enums, ``bool``), so the wrong-type breakers of ``invalid_config``
are not drawn (``typed_config``). Any NumPy layout is accepted: the Python API copies a
strided array into the input tensor, so every layout is declared. The convention options
keep the spec's defaults: of tied zeros MaxPool returns the first (``signed_zeros="tie"``),
and its lowest-finite value for a window of padding only contradicts OpenVINO's own
operator text (padding is ``-inf``), so it is a deviation, not ``empty_window="lowest"``.

MaxPool also takes the integer dtypes (``int8`` ... ``int64``, ``uint32`` included), declared
for ``max_pool`` and checked exactly: ``uint32`` and ``int64`` are computed through
``int32``, ``int32`` through ``float32`` on the paths without indices that pad or dilate,
and the index of a window whose cells all hold the dtype's minimum is 0 (registered).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections import OrderedDict
from typing import Any

import numpy as np

from ..cases import INTEGER_DTYPES, Case
from .base import (
    Capabilities,
    NotProvided,
    Target,
    construct_for,
    follow_conventions,
    numpy_layout,
)

OPS = ("max_pool", "avg_pool")
#: OpenVINO element type and inference precision of each dtype (float64 has no CPU
#: precision: the plugin converts it to f32 whatever the hint; the integer dtypes keep the
#: default hint, f32, which leaves integer nodes as they are)
INTEGER_TYPES = {
    "int8": "i8",
    "uint8": "u8",
    "int16": "i16",
    "uint16": "u16",
    "int32": "i32",
    "uint32": "u32",
    "int64": "i64",
}
PRECISION = {
    "float16": "f16",
    "bfloat16": "bf16",
    "float32": "f32",
    "float64": "f32",
    **{name: "f32" for name in INTEGER_TYPES},
}
#: the ``ov.Type`` of the model's input for each dtype
PRECISION_TYPES = {
    "float16": "f16",
    "bfloat16": "bf16",
    "float32": "f32",
    "float64": "f64",
    **INTEGER_TYPES,
}
AUTO_PAD = {"valid": "valid", "same": "same_upper", "same_lower": "same_lower"}
#: compiled models kept (the least recently used beyond it are dropped)
CACHE_SIZE = 512


def _ov():
    import openvino

    return openvino


def _int(v):
    """A size as a Python int (NumPy's too); anything else as it is, for OpenVINO to judge."""
    return int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v


def _tuple(v, d: int) -> list:
    if isinstance(v, (tuple, list)):
        if len(v) != d:
            raise ValueError(f"expected {d} values, got {v!r}")
        return [_int(a) for a in v]
    return [_int(v)] * d


def node_attributes(op: str, cfg: dict[str, Any], d: int) -> dict[str, Any]:
    """The keyword arguments of ``opset14.max_pool`` / ``opset16.avg_pool`` (less the input)
    for the spec's configuration ``cfg`` (its convention options already removed)."""
    kernel = _tuple(cfg["kernel_size"], d)
    stride = cfg.get("stride")
    dilation = cfg.get("dilation", 1)
    attrs: dict[str, Any] = {
        "kernel_shape": kernel,
        "strides": kernel if stride is None else _tuple(stride, d),
        "dilations": _tuple(1 if dilation is None else dilation, d),
        "rounding_type": "ceil_torch" if cfg.get("ceil_mode", False) else "floor",
        "pads_begin": [0] * d,
        "pads_end": [0] * d,
        "auto_pad": None,
    }
    padding = cfg.get("padding", 0)
    if isinstance(padding, str):
        if padding not in AUTO_PAD:
            raise ValueError(f"unknown padding {padding!r}")
        attrs["auto_pad"] = AUTO_PAD[padding]
    else:
        if isinstance(padding, (tuple, list)) and any(
            isinstance(p, (tuple, list)) for p in padding
        ):
            pairs = [tuple(_int(a) for a in p) for p in padding]
            if any(len(p) != 2 for p in pairs):
                raise ValueError(f"padding {padding!r}: pairs of (begin, end)")
        else:
            pairs = [(p, p) for p in _tuple(padding, d)]
        if len(pairs) != d:
            raise ValueError(f"padding {padding!r} for rank {d}")
        attrs["pads_begin"] = [b for b, _ in pairs]
        attrs["pads_end"] = [e for _, e in pairs]
    if op == "avg_pool":
        if cfg.get("divisor_override") is not None:
            raise NotProvided("OpenVINO AvgPool has no divisor_override")
        attrs["exclude_pad"] = not cfg.get("count_include_pad", True)
    return attrs


class OpenVinoTarget(Target):
    """One-node OpenVINO models compiled for a device of the OpenVINO runtime (``CPU``)."""

    def __init__(self, device: str = "CPU"):
        base, per_op = capabilities(importlib.util.find_spec("ml_dtypes") is not None)
        super().__init__("openvino", base, per_op, construct=construct_for("openvino"))
        self.ov_device = device
        self._core = _ov().Core()
        self._compiled: OrderedDict[tuple, Any] = OrderedDict()

    def provides(self, op: str) -> bool:
        return op in OPS

    def _model(self, op: str, attrs: dict[str, Any], shape: tuple, dtype: str, indices: bool):
        """The compiled model for ``op`` with ``attrs`` on an input of ``shape`` and
        ``dtype`` (cached); building it raises where OpenVINO rejects the configuration."""
        key = (op, repr(sorted(attrs.items())), shape, dtype, indices)
        if key in self._compiled:
            self._compiled.move_to_end(key)
        else:
            ov = _ov()
            from openvino import opset14, opset16

            param = opset14.parameter(list(shape), getattr(ov.Type, PRECISION_TYPES[dtype]))
            if op == "max_pool":
                a = dict(attrs)
                node = opset14.max_pool(
                    param,
                    a.pop("strides"),
                    a.pop("dilations"),
                    a.pop("pads_begin"),
                    a.pop("pads_end"),
                    a.pop("kernel_shape"),
                    index_element_type="i64",
                    axis=2,
                    **a,
                )
                outputs = node.outputs() if indices else [node.output(0)]
            else:
                a = dict(attrs)
                node = opset16.avg_pool(
                    param,
                    a.pop("strides"),
                    a.pop("pads_begin"),
                    a.pop("pads_end"),
                    a.pop("kernel_shape"),
                    a.pop("exclude_pad"),
                    # (always passed: AvgPool-16 built without dilations crashes the
                    # CPU plugin's compile_model, openvino 2026.4)
                    dilations=a.pop("dilations"),
                    **a,
                )
                outputs = [node.output(0)]
            model = ov.Model(outputs, [param], f"ndpool_{op}")
            config = {
                "INFERENCE_PRECISION_HINT": PRECISION[dtype],
                "INFERENCE_NUM_THREADS": 1,
                "NUM_STREAMS": 1,
            }
            self._compiled[key] = self._core.compile_model(model, self.ov_device, config)
            while len(self._compiled) > CACHE_SIZE:
                self._compiled.popitem(last=False)
        return self._compiled[key]

    def _input(self, case: Case, x: np.ndarray):
        ov = _ov()
        if case.dtype == "bfloat16":  # NumPy has no bfloat16: the tensor's bits, from ml_dtypes
            import ml_dtypes

            bits = np.ascontiguousarray(x.astype(np.float32).astype(ml_dtypes.bfloat16))
            tensor = ov.Tensor(ov.Type.bf16, ov.Shape(list(x.shape)))
            tensor.data.view(np.uint16)[...] = bits.view(np.uint16)
            return tensor
        return x.astype(np.dtype(case.dtype))

    def _output(self, case: Case, tensor):
        if case.dtype == "bfloat16":
            import ml_dtypes

            return np.array(tensor.data, copy=True).view(np.uint16).view(ml_dtypes.bfloat16)
        return np.array(tensor.data, copy=True)

    def _call(self, case: Case):
        if case.op not in OPS:
            raise NotProvided(f"{self.name} has no {case.op}")
        cfg = follow_conventions(case.op, case.cfg, self.capabilities(case.op))
        x = numpy_layout(np.asarray(case.x), case.layout, case.batched)
        if not case.batched:
            x = x[None]
        attrs = node_attributes(case.op, cfg, x.ndim - 2)
        compiled = self._model(case.op, attrs, tuple(x.shape), case.dtype, case.return_indices)
        request = compiled.create_infer_request()
        request.infer({0: self._input(case, x)})
        y = self._output(case, request.get_output_tensor(0))
        if not case.batched:
            y = y[0]
        if not case.return_indices:
            return y
        idx = np.array(request.get_output_tensor(1).data, copy=True).astype(np.int64)
        return y, (idx if case.batched else idx[0])


def capabilities(bfloat16: bool = True) -> tuple[Capabilities, dict[str, Capabilities]]:
    """The target's capabilities and its per-op ones; ``bfloat16`` only where ``ml_dtypes``
    (which gives NumPy a bfloat16 to hand the runtime's bf16 tensors over in) is installed."""
    dtypes = ("float16", "bfloat16", "float32", "float64")
    base = Capabilities(
        dtypes=dtypes if bfloat16 else tuple(d for d in dtypes if d != "bfloat16"),
        ranks=(1, 2, 3),  # MaxPool / AvgPool take 3-D, 4-D and 5-D inputs only
        gradients=(),  # an inference runtime: no derivatives
        empty_batch=False,  # N = 0 / C = 0: "batch_size ... > 0" (pooling shape inference)
        typed_config=True,  # node attributes: Shape / Strides, enums, bool
    )
    geometry = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    return base, {
        # MaxPool takes every integer type as well (AvgPool: floats only)
        "max_pool": base.replace(config_keys=geometry, dtypes=base.dtypes + INTEGER_DTYPES),
        "avg_pool": base.replace(config_keys=(*geometry, "count_include_pad")),
    }


def make_target(device: str = "cpu", **options: Any) -> OpenVinoTarget:
    """An :class:`OpenVinoTarget` on OpenVINO's CPU plugin (the only device it checks)."""
    if options:
        raise TypeError(f"the openvino target takes no options, got {sorted(options)}")
    try:
        importlib.import_module("openvino")
    except ImportError as exc:
        raise ImportError(
            "target 'openvino' is not installed: no module 'openvino' "
            "(pip install -e '.[openvino]')",
            name="openvino",
        ) from exc
    if device != "cpu":
        raise ValueError(f"the openvino target runs on OpenVINO's CPU plugin, not {device!r}")
    return OpenVinoTarget("CPU")
