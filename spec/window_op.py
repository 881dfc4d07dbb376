"""The driver shared by every window op: gather, reduce, scatter.

An op is a *reducer* over the last axis of the gathered windows plus the
geometry that gathers them (sliding windows or adaptive bins). A reducer is
three functions of ``(w, params, call)``:

- ``value(w, params, call) -> y``                       ``[N, C, *O, K] -> [N, C, *O]``
- ``jvp(w, params, call, w_dot, param_dots) -> y_dot``
- ``vjp(w, params, call, y_bar) -> (w_bar, *param_bars)``

``w`` holds the window cells (0 where a cell is not real; ``call.real`` and
``call.in_extent`` say which are), ``params`` the op's extra differentiable
inputs broadcast to ``[1, C, 1, ..., 1]``. The driver turns a reducer into the
op's forward, JVP and VJP: the input JVP gathers the tangent, the input VJP
scatters ``w_bar`` back (the transpose of gather), and parameter cotangents are
summed back to the parameter's shape. If each reducer's ``jvp``/``vjp`` pair is
adjoint, the whole op is adjoint by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import geometry as geo
from .constraints import fail
from .numeric import check_dtype, compute_dtype, round_to

SLIDING_KEYS = {
    "kernel_size": None,
    "stride": None,
    "padding": 0,
    "dilation": 1,
    "ceil_mode": False,
}
ADAPTIVE_KEYS = {"output_size": None}


@dataclass
class Call:
    """Everything a reducer may need about one call of an op."""

    geometry: geo.Geometry
    real: np.ndarray  # [*O, K]
    in_extent: np.ndarray  # [*O, K]
    options: dict[str, Any]
    batched: bool
    dtype: np.dtype  # the caller's dtype, results are rounded to it
    param_shapes: tuple[tuple[int, ...], ...]


@dataclass
class WindowOp:
    """One registered op: its reducer, its geometry kind and its metadata.

    ``inputs`` names the positional (differentiable) arrays, ``x`` first;
    ``options`` the op's own keyword options with their defaults (geometry
    keywords come from the geometry kind); ``exact`` says the op only selects
    input values (max-like), so a conforming target matches it bit for bit.
    """

    name: str
    value: Callable
    jvp_rule: Callable
    vjp_rule: Callable
    inputs: tuple[str, ...] = ("x",)
    options: dict[str, Any] = field(default_factory=dict)
    adaptive: bool = False
    exact: bool = False
    select: Callable | None = None  # window-local winner, for return_indices
    check: Callable | None = None  # validates parameter values / options
    function: Callable | None = None  # the public function, set by ``defines``

    def defines(self, fn: Callable) -> Callable:
        """Decorator: ``fn`` is this op's public, documented entry point."""
        self.function = fn
        return fn

    # -- metadata -------------------------------------------------------------------
    @property
    def geometry_keys(self) -> dict[str, Any]:
        return ADAPTIVE_KEYS if self.adaptive else SLIDING_KEYS

    @property
    def config_defaults(self) -> dict[str, Any]:
        return {**self.geometry_keys, **self.options}

    @property
    def returns_indices(self) -> bool:
        return self.select is not None

    def output_shape(self, x_shape: tuple[int, ...], **cfg) -> tuple[int, ...]:
        """The output shape for an input of ``x_shape`` (checks C1-C9)."""
        geom, _ = self._geometry(tuple(x_shape), self._config(cfg))
        return tuple(x_shape[: len(x_shape) - geom.d]) + geom.spatial_out

    # -- set-up ---------------------------------------------------------------------
    def _config(self, cfg: dict[str, Any]) -> dict[str, Any]:
        unknown = set(cfg) - set(self.config_defaults)
        if unknown:
            raise TypeError(f"{self.name}() got unexpected keyword(s) {sorted(unknown)}")
        full = {**self.config_defaults, **cfg}
        size_key = "output_size" if self.adaptive else "kernel_size"
        if full[size_key] is None:
            raise TypeError(f"{self.name}() missing required keyword {size_key!r}")
        return full

    def _geometry(self, shape: tuple[int, ...], cfg: dict[str, Any]):
        size_key = "output_size" if self.adaptive else "kernel_size"
        d = geo.spatial_rank(len(shape), cfg[size_key], size_key)
        spatial = shape[-d:]
        if self.adaptive:
            return geo.adaptive_geometry(spatial, output_size=cfg["output_size"]), d
        kw = {k: cfg[k] for k in SLIDING_KEYS}
        return geo.sliding_geometry(spatial, **kw), d

    def _setup(self, primals, cfg):
        if len(primals) != len(self.inputs):
            raise TypeError(
                f"{self.name}() takes {len(self.inputs)} array(s) {self.inputs}, got {len(primals)}"
            )
        cfg = self._config(cfg)
        arrays = [np.asarray(p) for p in primals]
        x = arrays[0]
        check_dtype(x)
        geom, d = self._geometry(x.shape, cfg)
        xb, batched = geo.as_batched(x, d)
        cdt = compute_dtype(*arrays)
        channels = xb.shape[1]
        params, shapes = [], []
        for name, p in zip(self.inputs[1:], arrays[1:]):
            if p.shape not in ((), (channels,)):
                raise fail("C12", f"{name} has shape {p.shape}; expected () or ({channels},)")
            shapes.append(p.shape)
            params.append(p.astype(cdt).reshape((1, -1) + (1,) * d) if p.ndim else p.astype(cdt))
        options = {k: cfg[k] for k in self.options}
        if self.check is not None:
            self.check(params, options)
        call = Call(
            geometry=geom,
            real=geom.real,
            in_extent=geom.in_extent,
            options=options,
            batched=batched,
            dtype=x.dtype,
            param_shapes=tuple(shapes),
        )
        w = geom.gather(xb.astype(cdt), fill=0)
        return call, w, tuple(params)

    def _unbatch(self, y: np.ndarray, call: Call) -> np.ndarray:
        return y if call.batched else y[0]

    def _batch(self, a, call: Call) -> np.ndarray:
        a = np.asarray(a)
        return a if call.batched else a[None]

    # -- forward / JVP / VJP ----------------------------------------------------------
    def forward(self, *primals, **cfg):
        return_indices = bool(cfg.pop("return_indices", False))
        if return_indices and not self.returns_indices:
            raise TypeError(f"{self.name}() has no return_indices")
        call, w, params = self._setup(primals, cfg)
        y = round_to(self.value(w, params, call), call.dtype)
        y = self._unbatch(y, call)
        if not return_indices:
            return y
        sel = self.select(w, params, call)
        index = pick(np.broadcast_to(call.geometry.index, w.shape), sel, -1).astype(np.int64)
        return y, self._unbatch(index, call)

    def jvp(self, primals, tangents, **cfg):
        """``(y, y_dot)``: the value output and its tangent (indices are not differentiated)."""
        cfg.pop("return_indices", None)
        call, w, params = self._setup(primals, cfg)
        if len(tangents) != len(primals):
            raise TypeError(f"{self.name}: {len(primals)} primals but {len(tangents)} tangents")
        cdt = w.dtype
        x_dot = self._batch(tangents[0], call).astype(cdt)
        w_dot = call.geometry.gather(x_dot, fill=0)
        p_dots = tuple(
            np.asarray(t).astype(cdt).reshape(p.shape) for t, p in zip(tangents[1:], params)
        )
        y = self.value(w, params, call)
        y_dot = self.jvp_rule(w, params, call, w_dot, p_dots)
        return (
            self._unbatch(round_to(y, call.dtype), call),
            self._unbatch(round_to(y_dot, call.dtype), call),
        )

    def vjp(self, primals, cotangent, **cfg):
        """One cotangent per primal, each shaped like its primal."""
        cfg.pop("return_indices", None)
        call, w, params = self._setup(primals, cfg)
        y_bar = self._batch(cotangent, call).astype(w.dtype)
        w_bar, *p_bars = self.vjp_rule(w, params, call, y_bar)
        x_bar = self._unbatch(call.geometry.scatter(w_bar), call)
        out = [round_to(x_bar, call.dtype)]
        for p_bar, shape, primal in zip(p_bars, call.param_shapes, primals[1:]):
            p_bar = np.broadcast_to(p_bar, y_bar.shape)
            axes = tuple(i for i in range(p_bar.ndim) if not (shape and i == 1))
            out.append(round_to(p_bar.sum(axis=axes).reshape(shape), np.asarray(primal).dtype))
        return tuple(out)

    def __call__(self, *primals, **cfg):
        return self.forward(*primals, **cfg)


def pick(a: np.ndarray, sel: np.ndarray, empty) -> np.ndarray:
    """``a[..., sel]`` along the window axis; ``empty`` where ``sel == -1``."""
    got = np.take_along_axis(a, np.maximum(sel, 0)[..., None], axis=-1)[..., 0]
    return np.where(sel >= 0, got, np.asarray(empty, dtype=a.dtype))


def one_hot(sel: np.ndarray, k: int, scale: np.ndarray) -> np.ndarray:
    """``scale`` placed at window cell ``sel`` (nothing where ``sel == -1``)."""
    hot = np.arange(k) == sel[..., None]
    return np.where(hot, scale[..., None], np.zeros((), dtype=scale.dtype))
