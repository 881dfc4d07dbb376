"""The ``keras-tensorflow``, ``keras-jax`` and ``keras-torch`` targets: the Keras 3 pooling
layers on one of its backends, with that backend's own differentiation.

Which Keras layer runs a case (``d`` is 1, 2 or 3: Keras has no other):

=========================  ==============================================================
case                       Keras
=========================  ==============================================================
``max_pool``               ``keras.layers.MaxPooling{d}D(pool_size, strides, padding)``
``avg_pool``               ``keras.layers.AveragePooling{d}D(pool_size, strides, padding)``
``adaptive_max_pool``      ``keras.layers.GlobalMaxPooling{d}D(keepdims=True)`` where the
                           output size is 1 on every axis, else
                           ``keras.layers.AdaptiveMaxPooling{d}D(output_size)``
``adaptive_avg_pool``      ``GlobalAveragePooling{d}D(keepdims=True)`` /
                           ``AdaptiveAveragePooling{d}D(output_size)`` the same way
``padding``                ``"valid"`` / ``"same"`` as they are (Keras has no other padding)
layout ``contiguous``      ``data_format="channels_first"`` on ``[N, C, *S]``
layout ``channels_last``   ``data_format="channels_last"``: the adapter transposes ``x`` to
                           ``[N, *S, C]`` (Keras' own default layout) and the result back,
                           inside the differentiated function
dtype                      the layer is made with ``dtype=`` the case's dtype (a layer's
                           default policy, ``float32``, would cast the input)
=========================  ==============================================================

The backend is fixed when ``keras`` is imported (``KERAS_BACKEND``). The target sets
``KERAS_BACKEND`` before the first import (on its first call, not when it is made); where
``keras`` is already loaded on another backend it switches with ``keras.config.set_backend``
(which reloads the ``keras`` package), and every call checks the backend again, so two
Keras targets can share a process.
One exception: the torch backend imports ``torch._dynamo``, hence Triton, whose LLVM
clashes with TensorFlow's when TensorFlow was imported first (the process aborts: "LLVM
ERROR: inconsistency in registered CommandLine options"). The adapter loads Triton first
wherever it imports Keras before TensorFlow is loaded (in that order both load); where
TensorFlow came first, ``keras-torch`` refuses to load instead (:class:`BackendClash`). The
check's workers are fresh processes.

Derivatives are the backend's own, through the layer call: ``jax.jvp`` / ``jax.vjp``,
``tf.autodiff.ForwardAccumulator`` / ``tf.GradientTape``, ``torch.func.jvp`` /
``torch.func.vjp``. float64 on the jax backend needs ``jax_enable_x64``: the target turns
it on before its first call (a process-wide JAX flag, as the ``jax`` target does).

Conventions: Keras' average never counts the padding (``"same"`` divides by the real cells:
the spec's ``count_include_pad=False``, declared as the only value); ``"same"`` puts the odd
padding cell at the end, as the spec's ``"same"``. What Keras lacks is declared, not
emulated: no explicit padding, no ``"same_lower"``, no dilation, no ``ceil_mode``, no
``divisor_override``, no indices, no unbatched input (a layer takes ``[N, ...]`` only), no
Lp pooling, spatial ranks 1..3.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings

import numpy as np
from hypothesis.errors import UnsatisfiedAssumption

from ..cases import Case
from .base import (
    Capabilities,
    NotProvided,
    Target,
    construct_for,
    follow_conventions,
    triton_before_tensorflow,
)

BACKENDS = ("tensorflow", "jax", "torch")
OPS = ("max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool")


class BackendClash(RuntimeError):
    """The Keras backend asked for cannot be loaded into this process."""


class NotExpressible(NotProvided, UnsatisfiedAssumption):
    """This configuration has no Keras layer (the example is discarded)."""


def keras_on(backend: str):
    """The ``keras`` package running on ``backend`` (imported, or switched to, here)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; known: {BACKENDS}")
    triton_before_tensorflow()
    if "keras" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        _check_clash(backend)
        os.environ["KERAS_BACKEND"] = backend
        import keras

        return keras
    import keras

    if keras.config.backend() != backend:
        _check_clash(backend)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Using `keras.config.set_backend` is dangerous"
            keras.config.set_backend(backend)
        import keras  # the reloaded package
    return keras


def _check_clash(backend: str) -> None:
    if (
        backend == "torch"
        and "tensorflow" in sys.modules
        and "triton" not in sys.modules
        and importlib.util.find_spec("triton") is not None
    ):
        raise BackendClash(
            "keras-torch cannot load in a process that imported tensorflow before triton "
            "(Keras' torch backend imports torch._dynamo, hence triton, whose LLVM aborts "
            "the process next to TensorFlow's); run it in a fresh process"
        )


def _spatial_sizes(output_size, spatial) -> object:
    """The spec's ``output_size`` in Keras' terms: ``None`` (keep the input's length on
    that axis) becomes the length; anything else is passed as it is, for Keras to judge."""
    if isinstance(output_size, (tuple, list)):
        return tuple(n if n is not None else int(s) for n, s in zip(output_size, spatial)) + tuple(
            output_size[len(spatial) :]
        )
    return output_size


def _all_one(sizes, d: int) -> bool:
    values = sizes if isinstance(sizes, (tuple, list)) else (sizes,) * d
    return len(values) == d and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v == 1 for v in values
    )


def make_layer(keras, case: Case, cfg: dict, data_format: str):
    """The Keras layer for ``case`` (its configuration ``cfg``, conventions removed)."""
    d = case.d
    if d not in (1, 2, 3):
        raise NotExpressible(f"Keras pools 1-D, 2-D and 3-D inputs, not {d}-D")
    layers = keras.layers
    kw = {"data_format": data_format, "dtype": case.dtype}
    if case.op in ("adaptive_max_pool", "adaptive_avg_pool"):
        kind = "Max" if case.op == "adaptive_max_pool" else "Average"
        sizes = _spatial_sizes(cfg.pop("output_size"), case.x.shape[-d:])
        _no_more(cfg)
        if _all_one(sizes, d):
            return getattr(layers, f"Global{kind}Pooling{d}D")(keepdims=True, **kw)
        return getattr(layers, f"Adaptive{kind}Pooling{d}D")(sizes, **kw)
    if cfg.pop("ceil_mode", False):
        raise ValueError("keras: pooling layers have no ceil_mode")
    dilation = cfg.pop("dilation", 1)
    if dilation not in (1, None) and dilation != (1,) * d:
        raise ValueError(f"keras: pooling layers have no dilation (dilation={dilation!r})")
    if case.op == "avg_pool":
        if cfg.pop("divisor_override", None) is not None:
            raise ValueError("keras: AveragePooling has no divisor_override")
        if cfg.pop("count_include_pad", False) is not False:
            raise ValueError("keras: AveragePooling never counts the padding")
    kernel = cfg.pop("kernel_size")
    stride = cfg.pop("stride", None)
    padding = cfg.pop("padding", "valid")  # the spec's default, 0, is "valid"
    _no_more(cfg)
    kind = "Max" if case.op == "max_pool" else "Average"
    return getattr(layers, f"{kind}Pooling{d}D")(
        pool_size=kernel, strides=stride, padding=padding, **kw
    )


def _no_more(cfg: dict) -> None:
    if cfg:
        raise ValueError(f"keras: no such pooling argument {sorted(cfg)}")


class KerasTarget(Target):
    """A Keras 3 pooling layer on one backend; derivatives from that backend."""

    def __init__(self, backend: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.backend = backend
        self._ready = False

    def provides(self, op: str) -> bool:
        return op in OPS

    def keras(self):
        """``keras`` on this target's backend (imported or switched to on first use, so
        that making the target, and reading its capabilities, imports no framework)."""
        keras = keras_on(self.backend)
        if not self._ready:
            _set_up(self.backend)
            self._ready = True
        return keras

    def _fn(self, case: Case):
        """``f(x)`` on a channels-first backend tensor, through the layer."""
        if case.op not in OPS:
            raise NotProvided(f"{self.name} has no {case.op}")
        if case.return_indices:
            raise NotProvided("Keras pooling layers return no indices")
        if not case.batched:
            raise NotExpressible("Keras pooling layers take batched [N, ...] input only")
        keras = self.keras()
        cfg = follow_conventions(case.op, case.cfg, self.capabilities(case.op))
        last = case.layout == "channels_last"
        layer = make_layer(keras, case, cfg, "channels_last" if last else "channels_first")
        d = case.d
        ops = keras.ops

        def f(x):
            if not last:
                return layer(x)
            y = layer(ops.transpose(x, (0, *range(2, d + 2), 1)))
            return ops.transpose(y, (0, d + 1, *range(1, d + 1)))

        return f

    def tensor(self, a, dtype: str):
        """``a`` (float64 values exact in ``dtype``) as a backend tensor of ``dtype``."""
        keras = self.keras()
        return keras.ops.convert_to_tensor(
            np.ascontiguousarray(np.asarray(a, dtype=np.float64)), dtype=dtype
        )

    def _call(self, case: Case):
        f = self._fn(case)
        return f(self.tensor(case.x, case.dtype))

    def _jvp(self, case: Case, tangents):
        f = self._fn(case)
        x = self.tensor(case.x, case.dtype)
        t = self.tensor(tangents[0], case.dtype)
        if self.backend == "jax":
            import jax

            return jax.jvp(f, (x,), (t,))
        if self.backend == "torch":
            import torch

            return torch.func.jvp(f, (x,), (t,))
        from .tensorflow_nn import forward_accumulator_jvp

        return forward_accumulator_jvp(f, x, t)

    def _vjp(self, case: Case, cotangent):
        f = self._fn(case)
        x = self.tensor(case.x, case.dtype)
        ct = self.tensor(cotangent, case.dtype)
        if self.backend == "jax":
            import jax

            _, pullback = jax.vjp(f, x)
            return pullback(ct)
        if self.backend == "torch":
            import torch

            _, pullback = torch.func.vjp(f, x)
            return pullback(ct)
        from .tensorflow_nn import gradient_tape_vjp

        return gradient_tape_vjp(f, x, ct)


CAPABILITIES = Capabilities(
    ranks=(1, 2, 3),
    layouts=("contiguous", "channels_last"),
    batched=(True,),
    padding_forms=("valid", "same"),
    return_indices=False,
)
WINDOW_KEYS = ("kernel_size", "stride", "padding")


def capabilities(backend: str) -> tuple[Capabilities, dict[str, Capabilities]]:
    """The default and per-op capabilities of ``keras-<backend>``."""
    caps = CAPABILITIES.replace(dtypes=DTYPES[backend])
    # the jax backend's max is lax.max (IEEE maximum: -0.0 < +0.0), in the window, adaptive
    # and global layers alike; tensorflow's and torch's kernels treat the zeros as a tie
    zeros = {"signed_zeros": ("ordered",)} if backend == "jax" else {}
    max_keys = ("signed_zeros",) if zeros else ()
    per_op = {
        "max_pool": caps.replace(config_keys=(*WINDOW_KEYS, *max_keys), option_values=zeros),
        "avg_pool": caps.replace(
            config_keys=(*WINDOW_KEYS, "count_include_pad"),
            option_values={"count_include_pad": (False,)},
        ),
        "adaptive_max_pool": caps.replace(
            config_keys=("output_size", *max_keys), option_values=zeros
        ),
        "adaptive_avg_pool": caps.replace(config_keys=("output_size",)),
    }
    return caps, per_op


#: the dtypes each backend's layers compute in (on the CPU)
DTYPES = {
    "tensorflow": ("float16", "bfloat16", "float32", "float64"),
    "jax": ("float16", "bfloat16", "float32", "float64"),
    "torch": ("float16", "bfloat16", "float32", "float64"),
}


def _set_up(backend: str) -> None:
    """What a backend needs before its first call: float64 in JAX, one thread in
    TensorFlow (shared machines; only possible before its runtime starts)."""
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    elif backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass


def make_target(device: str = "cpu", backend: str = "tensorflow") -> KerasTarget:
    """``keras-<backend>``. Nothing is imported here (only looked up): the backend is
    loaded on the target's first call (:meth:`KerasTarget.keras`)."""
    name = f"keras-{backend}"
    if backend not in BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; known: {BACKENDS}")
    for module in ("keras", backend):
        if importlib.util.find_spec(module) is None:
            raise ImportError(
                f"target {name!r} is not installed: no module {module!r} "
                "(pip install -e '.[keras]')",
                name=module,
            )
    if device != "cpu":
        raise ValueError(f"the {name} target runs on the CPU, not {device!r}")
    caps, per_op = capabilities(backend)
    return KerasTarget(backend, name, caps, per_op, construct=construct_for(name))
