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

    @property
    def input_specs(self) -> tuple[InputSpec, ...]:
        """One :class:`InputSpec` per positional input (here: ``x`` and per-channel
        parameters, all differentiable; :class:`PoolerOp` declares its own)."""
        return (InputSpec(self.inputs[0], "x"),) + tuple(
            InputSpec(name, "channel") for name in self.inputs[1:]
        )

    @property
    def differentiable(self) -> tuple[bool, ...]:
        """Which positional inputs have a derivative (one bool per input)."""
        return tuple(s.differentiable for s in self.input_specs)

    def exact_for(self, **cfg) -> bool:
        """Whether a conforming target must match this op bit for bit under ``cfg``
        (``exact``, unless the op's exactness depends on an option such as ``mode``)."""
        return self.exact

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
            out.append(
                round_to(np.asarray(p_bar.sum(axis=axes)).reshape(shape), np.asarray(primal).dtype)
            )
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


# -- input kinds: the learnable and stochastic poolers (issue 6) ---------------------------
#: The kinds of positional input an op may declare, with the shapes they accept
#: (``K`` = window cells in row-major order, ``O`` = the output's spatial shape;
#: the leading ``N`` is absent for an unbatched call):
#:
#: - ``"x"``:       the pooled input ``[N, C, *S]`` (always the first input);
#: - ``"channel"``: a per-channel parameter, ``()`` or ``[C]`` (today's parameters);
#: - ``"window"``:  a parameter over the window cells, ``[K]`` (per layer) or ``[C, K]``
#:   (per channel), e.g. the gate mask of ``gated_pool``;
#: - ``"output"``:  one value per output position, ``[N, C, *O]``, e.g. the uniform draw
#:   of ``stochastic_pool``;
#: - ``"cell"``:    one value per window cell of every output, ``[N, C, *O, K]``, e.g.
#:   the Gumbel noise of ``gumbel_pool``;
#: - ``"index"``:   an integer index array with an op-specific layout (``s3_pool``).
INPUT_KINDS = ("x", "channel", "window", "output", "cell", "index")


@dataclass(frozen=True)
class InputSpec:
    """What one positional input of an op is.

    ``kind`` is one of :data:`INPUT_KINDS`; ``differentiable`` says whether the op
    has a derivative with respect to it (``spec.jvp`` ignores the tangent of a
    non-differentiable input, which may be ``None``, and ``spec.vjp`` returns
    ``None`` for it); ``domain`` is the value domain in words (what a test
    generator must draw); ``optional`` inputs may be ``None`` (or left out at
    the end), e.g. the noise of a stochastic pooler in ``mode="eval"``.
    ``sampler(rng, x_shape, **cfg) -> array``, given for the random draws and
    index inputs, draws a valid value of the right shape the way the reference
    sampler does (``rng`` a ``numpy.random.Generator``; ``x_shape`` batched or not).
    """

    name: str
    kind: str = "channel"
    differentiable: bool = True
    domain: str = "real"
    optional: bool = False
    sampler: Callable | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"unknown input kind {self.kind!r}; known: {INPUT_KINDS}")


@dataclass
class PoolerOp(WindowOp):
    """A :class:`WindowOp` whose inputs are declared by :class:`InputSpec` records.

    The reducer contract is the same as :class:`WindowOp`'s, with ``params``
    holding every input after ``x`` in declaration order, prepared by kind:

    - ``channel``: ``()`` or ``[1, C, 1, ..., 1]``;
    - ``window``:  ``[1, 1 or C, 1, ..., 1, K]``;
    - ``output``:  ``[N, C, *O]``;   ``cell``: ``[N, C, *O, K]``;
    - an absent optional input is ``None``.

    ``jvp_rule`` receives ``param_dots`` in the same layout (``None`` for a
    non-differentiable input; a differentiable input whose tangent is ``None``
    gets zeros), and ``vjp_rule`` returns ``(w_bar, *param_bars)`` with ``None``
    for non-differentiable inputs; the driver sums every differentiable
    cotangent back to its input's shape. ``validate(xb, params, call)``, when
    given, checks input *values* (e.g. non-negative ``x``) after the shapes.
    ``exact_if(cfg) -> bool`` makes exactness depend on the options.
    """

    specs: tuple[InputSpec, ...] = ()
    validate: Callable | None = None
    exact_if: Callable | None = None

    def __post_init__(self):
        if self.specs:
            if self.specs[0].kind != "x":
                raise ValueError("the first input of an op is x")
            self.inputs = tuple(s.name for s in self.specs)

    @property
    def input_specs(self) -> tuple[InputSpec, ...]:
        return self.specs or WindowOp.input_specs.fget(self)

    def exact_for(self, **cfg) -> bool:
        if self.exact_if is None:
            return self.exact
        return bool(self.exact_if(self._config(cfg)))

    # -- set-up ---------------------------------------------------------------------
    def _arrays(self, primals) -> list:
        specs = self.input_specs
        primals = list(primals)
        if len(primals) > len(specs):
            raise TypeError(
                f"{self.name}() takes at most {len(specs)} array(s) {self.inputs}, "
                f"got {len(primals)}"
            )
        while len(primals) < len(specs) and specs[len(primals)].optional:
            primals.append(None)
        if len(primals) != len(specs):
            raise TypeError(
                f"{self.name}() takes {len(specs)} array(s) {self.inputs}, got {len(primals)}"
            )
        for s, p in zip(specs, primals):
            if p is None and not s.optional:
                raise TypeError(f"{self.name}(): input {s.name!r} is required")
        return [None if p is None else np.asarray(p) for p in primals]

    def _prepare(self, spec: InputSpec, p: np.ndarray, cdt, lead, channels, d, k):
        """Check one input's shape (by kind) and bring it to the reducer's layout."""
        batched, n, out_shape = lead
        if spec.kind == "channel":
            if p.shape not in ((), (channels,)):
                raise fail("C12", f"{spec.name} has shape {p.shape}; expected () or ({channels},)")
            return p.astype(cdt).reshape((1, -1) + (1,) * d) if p.ndim else p.astype(cdt)
        if spec.kind == "window":
            if p.shape not in ((k,), (channels, k)):
                raise fail(
                    "C15",
                    f"{spec.name} has shape {p.shape}; expected ({k},) (per layer) or "
                    f"({channels}, {k}) (per channel) for a window of {k} cells",
                )
            return p.astype(cdt).reshape((1, p.shape[0] if p.ndim == 2 else 1) + (1,) * d + (k,))
        if spec.kind in ("output", "cell"):
            want = ((n,) if batched else ()) + (channels,) + out_shape
            want = want + ((k,) if spec.kind == "cell" else ())
            if p.shape != want:
                layout = "[N, C, *O]" if spec.kind == "output" else "[N, C, *O, K]"
                raise fail("C16", f"{spec.name} has shape {p.shape}; expected {want} ({layout})")
            p = p if batched else p[None]
            return p if p.dtype == object else p.astype(cdt)
        return p  # "index": the op checks it

    def _setup(self, primals, cfg):
        arrays = self._arrays(primals)
        cfg = self._config(cfg)
        x = arrays[0]
        check_dtype(x)
        geom, d = self._geometry(x.shape, cfg)
        xb, batched = geo.as_batched(x, d)
        cdt = compute_dtype(
            *[a for a, s in zip(arrays, self.input_specs) if a is not None and s.kind != "index"]
        )
        lead = (batched, xb.shape[0], geom.spatial_out)
        params, shapes = [], []
        for s, p in zip(self.input_specs[1:], arrays[1:]):
            shapes.append(None if p is None else p.shape)
            params.append(
                None
                if p is None
                else self._prepare(s, p, cdt, lead, xb.shape[1], d, geom.window_size)
            )
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
        if self.validate is not None:
            self.validate(xb, tuple(params), call)
        w = geom.gather(xb.astype(cdt), fill=0)
        return call, w, tuple(params)

    # -- JVP / VJP ------------------------------------------------------------------
    def jvp(self, primals, tangents, **cfg):
        """``(y, y_dot)``; a ``None`` tangent is zero, a non-differentiable input's
        tangent is ignored (pass ``None`` or zeros)."""
        cfg.pop("return_indices", None)
        call, w, params = self._setup(primals, cfg)
        tangents = list(tangents) + [None] * (len(self.input_specs) - len(tangents))
        if len(tangents) != len(self.input_specs):
            raise TypeError(
                f"{self.name}: {len(self.input_specs)} inputs but {len(tangents)} tangents"
            )
        cdt = w.dtype
        x_dot = (
            np.zeros(w.shape[:2] + call.geometry.spatial_in, dtype=cdt)
            if tangents[0] is None
            else self._batch(tangents[0], call).astype(cdt)
        )
        w_dot = call.geometry.gather(x_dot, fill=0)
        p_dots = []
        for s, t, p in zip(self.input_specs[1:], tangents[1:], params):
            if not s.differentiable or p is None:
                p_dots.append(None)
            elif t is None:
                p_dots.append(p * 0)
            else:
                p_dots.append(np.asarray(t).astype(cdt).reshape(np.shape(p)))
        y = self.value(w, params, call)
        y_dot = self.jvp_rule(w, params, call, w_dot, tuple(p_dots))
        return (
            self._unbatch(round_to(y, call.dtype), call),
            self._unbatch(round_to(y_dot, call.dtype), call),
        )

    def vjp(self, primals, cotangent, **cfg):
        """One cotangent per input (``None`` for non-differentiable or absent inputs)."""
        cfg.pop("return_indices", None)
        arrays = self._arrays(primals)
        call, w, params = self._setup(primals, cfg)
        y_bar = self._batch(cotangent, call).astype(w.dtype)
        w_bar, *p_bars = self.vjp_rule(w, params, call, y_bar)
        x_bar = self._unbatch(call.geometry.scatter(w_bar), call)
        out = [round_to(x_bar, call.dtype)]
        for s, p_bar, shape, primal in zip(
            self.input_specs[1:], p_bars, call.param_shapes, arrays[1:]
        ):
            if not s.differentiable or primal is None:
                out.append(None)
                continue
            if s.kind == "window":
                full = np.broadcast_to(p_bar, y_bar.shape + (call.geometry.window_size,))
                keep = {1, full.ndim - 1} if len(shape) == 2 else {full.ndim - 1}
            else:
                full = np.broadcast_to(p_bar, y_bar.shape)
                keep = {1} if shape else set()
            axes = tuple(i for i in range(full.ndim) if i not in keep)
            out.append(round_to(np.asarray(full.sum(axis=axes)).reshape(shape), primal.dtype))
        return tuple(out)
