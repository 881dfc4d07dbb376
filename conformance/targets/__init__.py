"""The targets the suite checks: the built-in ones, and loading a user's.

A target is a :class:`~ndpool.conformance.targets.base.Target` (the protocol, with
:class:`Capabilities` and :class:`NumpyTarget`); :class:`TorchTarget` adapts torch
callables. Each built-in target is a module of this package with a
``make_target(device, **options)`` and, beside it, its known-deviations registry
``deviations/<name>.toml``; :data:`BUILTIN_TARGETS` names them. A module is imported
only when its target is loaded, so importing the suite never imports onnx or jax.

A user's target is ``module:attribute``: a :class:`Target`, a factory returning one,
or a plain namespace of NumPy functions (wrapped in :class:`NumpyTarget` with the
default capabilities).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

from ndpool import spec

from .base import (
    ALL_DTYPES,
    ALL_LAYOUTS,
    ALL_PADDING_FORMS,
    Capabilities,
    NotProvided,
    NumpyTarget,
    Target,
    follow_conventions,
    numpy_layout,
)
from .torch_callables import TorchTarget


@dataclass(frozen=True)
class Builtin:
    """A built-in target: the module of this package that makes it, the options of its
    ``make_target``, and the packages it needs (with the pip command that gets them)."""

    module: str
    options: dict[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    install: str = ""
    description: str = ""

    def missing(self) -> list[str]:
        """The required packages that are not importable here."""
        return [name for name in self.requires if importlib.util.find_spec(name) is None]

    def make(self, device: str = "cpu") -> Target:
        module = importlib.import_module(f"{__name__}.{self.module}")
        return module.make_target(device=device, **self.options)


_TORCH = ("torch",)
_ONNX = ("onnx", "onnxruntime")
_TARGETS = 'pip install -e ".[targets]" (in a checkout of ndpool)'

#: Named targets: adding one is a module with ``make_target(device)`` and a line here.
#: ``<name>@<opset>`` picks an ONNX opset (default 22).
BUILTIN_TARGETS: dict[str, Builtin] = {
    "ndpool.impl": Builtin(
        "impl", requires=_TORCH, install="pip install torch", description="ndpool's PyTorch impl"
    ),
    "torch": Builtin(
        "torch_nn", requires=_TORCH, install="pip install torch", description="torch.nn.functional"
    ),
    "torch-compile": Builtin(
        "torch_compile",
        requires=_TORCH,
        install="pip install torch",
        description="torch.nn.functional under torch.compile (Inductor, CPU)",
    ),
    "triton": Builtin(
        "triton_kernels",
        requires=("triton", "torch"),
        install='pip install -e ".[gpu]" (in a checkout of ndpool)',
        description="ndpool.impl's Triton kernels (CPU: Triton's interpreter)",
    ),
    "ndpool.spec": Builtin("numpy_spec", description="the spec itself (conforms by definition)"),
    "onnxruntime": Builtin(
        "onnx_backends",
        {"backend": "onnxruntime"},
        _ONNX,
        _TARGETS,
        "ONNX Runtime (CPU), opset 22",
    ),
    "onnxruntime@18": Builtin(
        "onnx_backends",
        {"backend": "onnxruntime", "opset": 18},
        _ONNX,
        _TARGETS,
        "ONNX Runtime (CPU), opset 18",
    ),
    "onnx-reference": Builtin(
        "onnx_backends",
        {"backend": "reference"},
        ("onnx",),
        _TARGETS,
        "onnx.reference, opset 22",
    ),
    "onnx-reference@18": Builtin(
        "onnx_backends",
        {"backend": "reference", "opset": 18},
        ("onnx",),
        _TARGETS,
        "onnx.reference, opset 18",
    ),
    "jax": Builtin(
        "jax_lax", requires=("jax",), install=_TARGETS, description="jax.lax.reduce_window"
    ),
    "tensorflow": Builtin(
        "tensorflow_nn",
        requires=("tensorflow",),
        install='pip install -e ".[tensorflow]" (in a checkout of ndpool)',
        description="tf.nn pooling (tensorflow-cpu)",
    ),
    **{
        f"keras-{backend}": Builtin(
            "keras_layers",
            {"backend": backend},
            ("keras", backend),
            'pip install -e ".[keras]" (in a checkout of ndpool)',
            f"Keras 3 pooling layers on its {backend} backend",
        )
        for backend in ("tensorflow", "jax", "torch")
    },
    "openvino": Builtin(
        "openvino_ops",
        requires=("openvino",),
        install='pip install -e ".[openvino]" (in a checkout of ndpool)',
        description="OpenVINO MaxPool / AvgPool (CPU plugin)",
    ),
    "tinygrad": Builtin(
        "tinygrad_tensor",
        requires=("tinygrad",),
        install='pip install -e ".[tinygrad]" (in a checkout of ndpool)',
        description="tinygrad Tensor.max_pool2d / avg_pool2d (its PYTHON device)",
    ),
    "mlx": Builtin(
        "mlx_nn",
        requires=("mlx",),
        install='pip install -e ".[mlx]" (in a checkout of ndpool)',
        description="mlx.nn pooling layers (CPU build)",
    ),
}


def load_target(name: str | Target | Any, device: str = "cpu") -> Target:
    """A built-in name, ``module:attribute``, a :class:`Target`, or a namespace of ops."""
    if isinstance(name, Target):
        return name
    if not isinstance(name, str):
        return NumpyTarget(name)
    if name in BUILTIN_TARGETS:
        return BUILTIN_TARGETS[name].make(device=device)
    if ":" not in name:
        raise ValueError(
            f"unknown target {name!r}: use one of {sorted(BUILTIN_TARGETS)} or module:attribute"
        )
    module_name, _, attr = name.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, Target):
        target = obj
    elif isinstance(obj, type) and issubclass(obj, Target):
        target = obj()
    elif _is_factory(obj):
        target = obj()
    else:
        target = NumpyTarget(obj, name=name)
    if not isinstance(target, Target):
        target = NumpyTarget(target, name=name)
    target.construct = (
        f"from ndpool.conformance.targets import load_target\ntarget = load_target({name!r})"
    )
    return target


def _is_factory(obj: Any) -> bool:
    """A function (not a namespace of ops) that builds a target."""
    return callable(obj) and not any(callable(getattr(obj, op, None)) for op in spec.OPS)


__all__ = [
    "ALL_DTYPES",
    "ALL_LAYOUTS",
    "ALL_PADDING_FORMS",
    "BUILTIN_TARGETS",
    "Builtin",
    "Capabilities",
    "NotProvided",
    "NumpyTarget",
    "Target",
    "TorchTarget",
    "follow_conventions",
    "load_target",
    "numpy_layout",
]
