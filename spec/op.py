"""The one driver every op uses: gather, reduce, scatter.

An op is a *reducer* over the last axis of its gathered windows plus the kind of
windows that gathers them (:class:`WindowKind`: sliding windows, adaptive bins, or an
op's own). A reducer is three functions of ``(w, params, call)``:

- ``value(w, params, call) -> y``                       ``[N, C, *O, K] -> [N, C, *O]``
- ``jvp(w, params, call, w_dot, param_dots) -> y_dot``
- ``vjp(w, params, call, y_bar) -> (w_bar, *param_bars)``

``w`` holds the window cells (0 where a cell is not real; ``call.real`` and
``call.in_extent`` say which are), ``params`` the op's other inputs brought to the
reducer's layout by their kind (:class:`InputSpec`). The driver turns a reducer into
the op's forward, JVP and VJP: the input JVP gathers the tangent, the input VJP
scatters ``w_bar`` back (the transpose of gather), and parameter cotangents are summed
back to the parameter's shape, term by term in a fixed order (:func:`add_in_order`). If
each reducer's ``jvp``/``vjp`` pair is adjoint, the whole op is adjoint by construction.

An op may reduce the windows of another op's output (``stage``: S3Pool reduces the
stride-1 max map); the driver then chains the two: forward and JVP through the stage
first, the VJP through it last.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import geometry as geo
from .blocks import blocks
from .constraints import check_flag, fail, is_flag
from .numeric import check_dtype, compute_dtype, is_integer, round_to

#: The kinds of positional input an op may declare, with the shapes they accept
#: (``K`` = window cells in row-major order, ``O`` = the output's spatial shape;
#: the leading ``N`` is absent for an unbatched call):
#:
#: - ``"x"``:       the pooled input ``[N, C, *S]`` (always the first input);
#: - ``"channel"``: a per-channel parameter, ``()`` or ``[C]`` (p, beta, q, ...);
#: - ``"window"``:  a parameter over the window cells, ``[K]`` (per layer) or ``[C, K]``
#:   (per channel), e.g. the gate mask of ``gated_pool``;
#: - ``"output"``:  one value per output position, ``[N, C, *O]``, e.g. the uniform draw
#:   of ``stochastic_pool``;
#: - ``"cell"``:    one value per window cell of every output, ``[N, C, *O, K]``, e.g.
#:   the Gumbel noise of ``gumbel_pool``;
#: - ``"position"``: a parameter per channel and output position shared by the batch,
#:   ``()``, ``[C]`` or ``[C, *O]`` (the temperature of ``gumbel_pool``: the source learns
#:   one per pooling patch);
#: - ``"index"``:   an integer index array with an op-specific layout (``s3_pool``).
INPUT_KINDS = ("x", "channel", "window", "output", "cell", "position", "index")


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


@dataclass(frozen=True)
class Option:
    """One keyword option of an op (beyond its window keywords).

    ``values`` enumerates the accepted values of an enumerated option (any other value
    breaks C14), ``flag`` marks a bool (anything else breaks C22); ``convention`` marks an
    option that names a convention frameworks disagree on (the default is the spec's own;
    a conformance target declares the value it follows instead of receiving the option).
    """

    name: str
    default: Any
    values: tuple | None = None
    convention: bool = False
    flag: bool = False

    def check(self, value) -> None:
        """C14 for an enumerated option, C22 for a flag."""
        if self.flag:
            check_flag(self.name, value)
        if self.values is not None and not any(
            type(value) is type(v) and value == v for v in self.values
        ):
            raise fail("C14", f"{self.name}={value!r} must be one of {self.values}")


@dataclass(frozen=True)
class WindowKind:
    """How an op's windows are laid out: its window keywords (with defaults), the one
    that sets the spatial rank (``size_key``) and ``build(spatial, cfg, arrays)`` (the
    :class:`~ndpool.spec.geometry.Geometry` of one call, checking the constraints)
    and ``extent(spatial, cfg)`` (the output's spatial shape, by arithmetic)."""

    name: str
    keys: dict[str, Any]
    size_key: str
    build: Callable[..., geo.Geometry]
    extent: Callable[..., tuple[int, ...]]


def _sliding(spatial, cfg, arrays=None) -> geo.Geometry:
    return geo.sliding_geometry(spatial, **{k: cfg[k] for k in geo.SLIDING_KEYS})


def _sliding_extent(spatial, cfg) -> tuple[int, ...]:
    return geo.sliding_axes(spatial, **{k: cfg[k] for k in geo.SLIDING_KEYS}).out


SLIDING = WindowKind("sliding", dict(geo.SLIDING_KEYS), "kernel_size", _sliding, _sliding_extent)
ADAPTIVE = WindowKind(
    "adaptive",
    {"output_size": None},
    "output_size",
    lambda spatial, cfg, arrays=None: geo.adaptive_geometry(
        spatial, output_size=cfg["output_size"]
    ),
    lambda spatial, cfg: geo.adaptive_extent(spatial, cfg["output_size"]),
)


@dataclass
class Call:
    """Everything a reducer may need about one call of an op, or about one block of its
    outputs (:mod:`ndpool.spec.blocks`): ``geometry``, ``real`` and ``in_extent``
    (``[*O, K]``) then describe the block's windows."""

    geometry: geo.Geometry
    options: dict[str, Any]
    batched: bool
    dtype: np.dtype  # the caller's dtype, results are rounded to it
    param_shapes: tuple[tuple[int, ...] | None, ...]

    @functools.cached_property
    def real(self) -> np.ndarray:
        """``[*O, K]``: which window cells read an input cell."""
        return self.geometry.real

    @functools.cached_property
    def in_extent(self) -> np.ndarray:
        """``[*O, K]``: which window cells lie inside the padded extent."""
        return self.geometry.in_extent

    def unbatch(self, a) -> np.ndarray:
        """An ``[N, ...]`` result as the caller's layout (no N when unbatched)."""
        return a if self.batched else a[0]

    def batch(self, a) -> np.ndarray:
        a = np.asarray(a)
        return a if self.batched else a[None]


@dataclass
class Op:
    """One registered op: its reducer, its inputs, options and windows, and its metadata.

    ``input_specs`` declares the positional arrays (:class:`InputSpec`, ``x`` first;
    ``inputs`` are their names);
    ``options`` the op's own keywords (:class:`Option`; window keywords come from
    ``windows``); ``exact`` says the op only selects input values (max-like), so a
    conforming target matches it bit for bit (a callable of the full configuration
    when that depends on an option such as ``mode``); ``select`` is the window-local
    winner for ``return_indices``; ``check(params, options)`` checks parameter values
    and options, ``validate(xb, params, call)`` the input's values; ``stage(cfg) ->
    (op, cfg)`` an op whose output this op's windows read.

    ``empty_window`` states, in words, what a window with no real cell gives -- its value
    and its derivatives. Such a window lies wholly in the padding (any padding >= 0 is
    valid) or between the taps of a dilated kernel; every built-in op states one (the docs
    render them, tests/spec/test_spec_empty_windows.py holds each op to it). ``integers``
    says the op takes integer ``x`` (one of
    :data:`~ndpool.spec.numeric.INTEGER_DTYPES`; forward only, exact: the value is a
    window cell, or the dtype's minimum for an empty window); ``jvp`` and ``vjp`` reject
    an integer ``x`` (a TypeError: integers have no derivatives).
    """

    name: str
    value: Callable
    jvp_rule: Callable
    vjp_rule: Callable
    input_specs: tuple[InputSpec, ...] = (InputSpec("x", "x"),)
    options: tuple[Option, ...] = ()
    windows: WindowKind = SLIDING
    exact: bool | Callable[[dict], bool] = False
    select: Callable | None = None
    check: Callable | None = None
    validate: Callable | None = None
    stage: Callable[[dict], tuple[Op, dict]] | None = None
    empty_window: str = ""
    integers: bool = False
    function: Callable | None = None  # the public function, set by ``defines``

    def __post_init__(self):
        if not self.input_specs or self.input_specs[0].kind != "x":
            raise ValueError(f"{self.name}: the first input of an op is x")

    def defines(self, fn: Callable) -> Callable:
        """Decorator: ``fn`` is this op's public, documented entry point."""
        self.function = fn
        return fn

    # -- metadata -------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[str, ...]:
        """The names of the positional inputs, ``x`` first."""
        return tuple(s.name for s in self.input_specs)

    @property
    def adaptive(self) -> bool:
        return self.windows is ADAPTIVE

    @property
    def geometry_keys(self) -> dict[str, Any]:
        return self.windows.keys

    @property
    def option_defaults(self) -> dict[str, Any]:
        return {o.name: o.default for o in self.options}

    @property
    def config_defaults(self) -> dict[str, Any]:
        """Every keyword with its default (window keywords first)."""
        return {**self.windows.keys, **self.option_defaults}

    @property
    def conventions(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o.convention)

    @property
    def returns_indices(self) -> bool:
        return self.select is not None

    @property
    def differentiable(self) -> tuple[bool, ...]:
        """Which positional inputs have a derivative (one bool per input)."""
        return tuple(s.differentiable for s in self.input_specs)

    def exact_for(self, **cfg) -> bool:
        """Whether a conforming target must match this op bit for bit under ``cfg``."""
        if callable(self.exact):
            return bool(self.exact(self.config(cfg)))
        return self.exact

    def output_shape(self, x_shape, **cfg) -> tuple[int, ...]:
        """The output shape for an input of ``x_shape`` (checks the window constraints),
        by integer arithmetic only."""
        cfg = self.config(cfg)
        x_shape = _shape(x_shape)
        if self.stage is not None:
            inner, inner_cfg = self.stage(cfg)
            x_shape = inner.output_shape(x_shape, **inner_cfg)
        d = self.rank(len(x_shape), cfg)
        return x_shape[: len(x_shape) - d] + tuple(self.windows.extent(x_shape[-d:], cfg))

    def geometry(self, x_shape, **cfg) -> geo.Geometry:
        """The windows of a call on an input of ``x_shape`` (after the stage, if any)."""
        cfg = self.config(cfg)
        x_shape = tuple(x_shape)
        if self.stage is not None:
            inner, inner_cfg = self.stage(cfg)
            x_shape = inner.output_shape(x_shape, **inner_cfg)
        d = self.rank(len(x_shape), cfg)
        return self.windows.build(x_shape[-d:], cfg, None)

    # -- set-up ---------------------------------------------------------------------
    def config(self, cfg: dict[str, Any]) -> dict[str, Any]:
        """The full configuration: defaults filled in, unknown keywords and a missing
        window size rejected (TypeError), enumerated options checked (C14)."""
        defaults = self.config_defaults
        unknown = set(cfg) - set(defaults)
        if unknown:
            raise TypeError(f"{self.name}() got unexpected keyword(s) {sorted(unknown)}")
        full = {**defaults, **cfg}
        if full[self.windows.size_key] is None:
            raise TypeError(f"{self.name}() missing required keyword {self.windows.size_key!r}")
        for option in self.options:
            option.check(full[option.name])
        return full

    def rank(self, x_ndim: int, cfg: dict[str, Any]) -> int:
        key = self.windows.size_key
        return geo.spatial_rank(x_ndim, cfg[key], key)

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
        arrays = []
        for s, p in zip(specs, primals):
            if p is None and not s.optional:
                raise fail("C24", f"{self.name}(): input {s.name!r} is required (not None)")
            if p is None:
                arrays.append(None)
            elif s.kind == "x":
                arrays.append(np.asarray(p))
            elif s.kind == "index":
                arrays.append(np.asarray(p))  # the op checks its indices
            else:
                arrays.append(real_array(s.name, p))
        return arrays

    def _prepare(self, spec: InputSpec, p: np.ndarray, cdt, lead, channels, d, k):
        """Check one input's shape (by kind) and bring it to the reducer's layout:
        ``channel`` -> ``()`` or ``[1, C, 1, ..., 1]``; ``window`` ->
        ``[1, 1 or C, 1, ..., 1, K]``; ``output`` -> ``[N, C, *O]``; ``cell`` ->
        ``[N, C, *O, K]``; ``position`` -> ``()``, ``[1, C, 1, ..., 1]`` or ``[1, C, *O]``;
        ``index`` as given (the op checks it)."""
        batched, n, out_shape = lead
        if spec.kind == "position" and p.ndim > 1:
            if p.shape != (channels, *out_shape):
                raise fail(
                    "C12",
                    f"{spec.name} has shape {p.shape}; expected (), ({channels},) or "
                    f"{(channels, *out_shape)} (per channel and output position)",
                )
            return p.astype(cdt)[None]
        if spec.kind in ("channel", "position"):
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
        return p

    def gather(self, primals, **cfg):
        """``(call, w, params)``: one call's windows ``w [N, C, *O, K]`` in the compute
        type (float64, or object for mpmath) and its other inputs in the reducer's
        layout, after every check of shapes, options and values (of the stage's output,
        for an op with a stage). All windows at once: the op's forward, JVP and VJP
        gather block by block instead (:mod:`ndpool.spec.blocks`)."""
        call, xb, params, cdt = self._setup(self._staged(tuple(primals), cfg), cfg)
        return call, call.geometry.gather(xb.astype(cdt), fill=0), params

    def _setup(self, primals, cfg):
        """``(call, xb, params, cdt)``: the checked call, the batched input (in the caller's
        dtype: each block's windows are brought to the compute type ``cdt`` as they are
        gathered) and the other inputs in the reducer's layout (nothing gathered yet)."""
        arrays = self._arrays(primals)
        cfg = self.config(cfg)
        x = arrays[0]
        check_dtype(x, integers=self.integers, op=self.name)
        d = self.rank(x.ndim, cfg)
        xb, batched = geo.as_batched(x, d)
        geom = self.windows.build(x.shape[-d:], cfg, arrays)
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
        options = {o.name: cfg[o.name] for o in self.options}
        if self.check is not None:
            self.check(params, options)
        call = Call(
            geometry=geom,
            options=options,
            batched=batched,
            dtype=x.dtype,
            param_shapes=tuple(shapes),
        )
        if self.validate is not None:
            self.validate(xb, tuple(params), call)
        return call, xb, tuple(params), cdt

    def _blocks(self, call: Call, xb: np.ndarray):
        """``(where, block call)`` for every block of outputs, in row-major order
        (:func:`ndpool.spec.blocks.blocks`); ``where`` indexes the block in ``[N, C, *O]``.
        A single block is the call itself, with ``where = None``. Each block's call is
        made when the loop reaches it, so that its windows' index is held for that block
        only."""
        geom = call.geometry
        parts = blocks(xb.shape[0], geom.spatial_out, xb.shape[1] * geom.window_size)
        if len(parts) == 1:
            yield None, call
            return
        for batch, box in parts:
            yield (batch, slice(None), *box), dataclasses.replace(call, geometry=geom.block(box))

    def _sliced(self, arrays, where):
        """The per-position inputs (``output``, ``cell``) of the block at ``where``; the
        others are the same for every block."""
        if where is None:
            return arrays
        return tuple(_sliced(s.kind, a, where) for s, a in zip(self.input_specs[1:], arrays))

    # -- forward / JVP / VJP ----------------------------------------------------------
    def forward(self, *primals, return_indices: bool = False, **cfg):
        check_flag("return_indices", return_indices)
        if return_indices and not self.returns_indices:
            raise TypeError(f"{self.name}() has no return_indices")
        call, xb, params, cdt = self._setup(self._staged(tuple(primals), cfg), cfg)
        full = xb.shape[:2] + call.geometry.spatial_out
        y = index = None
        for where, part in self._blocks(call, xb):
            w = _gather(part, xb, where, cdt)
            p = self._sliced(params, where)
            y = _place(y, where, self.value(w, p, part), full)
            if return_indices:
                sel = self.select(w, p, part)
                got = pick(np.broadcast_to(part.geometry.index, w.shape), sel, -1)
                index = _place(index, where, got.astype(np.int64), full)
        y = call.unbatch(round_to(y, call.dtype))
        return (y, call.unbatch(index)) if return_indices else y

    def _staged(self, primals, cfg):
        """The primals with ``x`` replaced by the stage's output (if the op has a stage)."""
        if self.stage is None:
            return primals
        inner, inner_cfg = self.stage(self.config(cfg))
        return (inner.forward(primals[0], **inner_cfg), *primals[1:])

    def _no_integer_derivative(self, x: np.ndarray, which: str) -> None:
        """Integer inputs have no derivatives: ``jvp`` / ``vjp`` of an integer ``x`` is a
        TypeError (as torch refuses ``requires_grad`` on an integer tensor), never a silent
        zero. (An op that takes no integers rejects them as it does in its forward.)"""
        if is_integer(x):
            check_dtype(x, integers=self.integers, op=self.name)
            raise TypeError(
                f"{self.name}: x has dtype {x.dtype}; integer inputs have no derivatives, "
                f"so spec.{which} takes float x only (the forward takes {x.dtype}; cast x "
                "to a float dtype to differentiate)"
            )

    def _tangents(self, tangents, primals) -> list:
        tangents = list(tangents) + [None] * (len(self.input_specs) - len(tangents))
        if len(tangents) != len(self.input_specs):
            raise TypeError(
                f"{self.name}: {len(self.input_specs)} inputs but {len(tangents)} tangents"
            )
        for s, t, p in zip(self.input_specs, tangents, primals):
            if t is not None and s.differentiable and p is not None:
                if np.shape(t) != np.shape(p):
                    raise ValueError(
                        f"{self.name}: the tangent of {s.name} has shape {np.shape(t)}; "
                        f"expected {np.shape(p)} (the shape of {s.name})"
                    )
        return tangents

    def jvp(self, primals, tangents, **cfg):
        """``(y, y_dot)``: the value output and its tangent (indices are not
        differentiated); a ``None`` tangent is zero, a non-differentiable input's tangent
        is ignored (pass ``None`` or zeros); every other tangent has its primal's shape."""
        cfg.pop("return_indices", None)
        primals = tuple(self._arrays(primals))
        self._no_integer_derivative(primals[0], "jvp")
        tangents = self._tangents(tangents, primals)
        if self.stage is not None:
            inner, inner_cfg = self.stage(self.config(cfg))
            x = primals[0]
            t = np.zeros_like(x) if tangents[0] is None else tangents[0]
            m, m_dot = inner.jvp((x,), (t,), **inner_cfg)
            primals, tangents = (m, *primals[1:]), [m_dot, *tangents[1:]]
        call, xb, params, cdt = self._setup(primals, cfg)
        x_dot = (
            np.zeros(xb.shape, dtype=cdt)
            if tangents[0] is None
            else call.batch(tangents[0]).astype(cdt)
        )
        p_dots = []
        for s, t, p in zip(self.input_specs[1:], tangents[1:], params):
            if not s.differentiable or p is None:
                p_dots.append(None)
            elif t is None:
                p_dots.append(p * 0)
            else:
                p_dots.append(np.asarray(t).astype(cdt).reshape(np.shape(p)))
        full = xb.shape[:2] + call.geometry.spatial_out
        y = y_dot = None
        for where, part in self._blocks(call, xb):
            w = _gather(part, xb, where, cdt)
            w_dot = _gather(part, x_dot, where, cdt)
            p, p_dot = self._sliced(params, where), self._sliced(p_dots, where)
            y = _place(y, where, self.value(w, p, part), full)
            y_dot = _place(y_dot, where, self.jvp_rule(w, p, part, w_dot, p_dot), full)
        return (
            call.unbatch(round_to(y, call.dtype)),
            call.unbatch(round_to(y_dot, call.dtype)),
        )

    def vjp(self, primals, cotangent, **cfg):
        """One cotangent per input, each shaped like its input (``None`` for a
        non-differentiable or absent input); ``cotangent`` has the output's shape."""
        cfg.pop("return_indices", None)
        arrays = self._arrays(primals)
        self._no_integer_derivative(arrays[0], "vjp")
        call, xb, params, cdt = self._setup(self._staged(tuple(arrays), cfg), cfg)
        geom = call.geometry
        want = call.unbatch(np.empty(xb.shape[:2] + geom.spatial_out, dtype=bool)).shape
        if np.shape(cotangent) != want:
            raise ValueError(
                f"{self.name}: the cotangent has shape {np.shape(cotangent)}; expected the "
                f"output's shape {want}"
            )
        y_bar = call.batch(cotangent).astype(cdt)
        # each differentiable parameter's cotangent, summed over the axes its shape lacks
        # (kept_axes), block by block in a fixed order (add_in_order)
        cells = {"window": (geom.window_size,)}
        keeps = [
            kept_axes(s.kind, shape, len(geom.spatial_out))
            if s.differentiable and shape is not None
            else None
            for s, shape in zip(self.input_specs[1:], call.param_shapes)
        ]
        p_bars = [
            None
            if keep is None
            else np.zeros([(y_bar.shape + cells.get(s.kind, ()))[a] for a in keep], dtype=cdt)
            for s, keep in zip(self.input_specs[1:], keeps)
        ]
        x_bar = None
        for where, part in self._blocks(call, xb):
            w = _gather(part, xb, where, cdt)
            y_bar_part = y_bar if where is None else y_bar[where]
            w_bar, *bars = self.vjp_rule(w, self._sliced(params, where), part, y_bar_part)
            if where is None:
                x_bar = part.geometry.scatter(w_bar)
            else:
                if x_bar is None:
                    x_bar = np.zeros(xb.shape, dtype=cdt)
                if all(s == slice(None) for s in where[2:]):  # whole entries: rows of their own
                    x_bar[where[0]] = part.geometry.scatter(w_bar)
                else:
                    part.geometry.scatter(w_bar, into=x_bar[where[0]])
            for s, keep, total, bar in zip(self.input_specs[1:], keeps, p_bars, bars):
                if keep is not None:
                    block = y_bar_part.shape + cells.get(s.kind, ())
                    terms = bar if np.shape(bar) == block else np.broadcast_to(bar, block)
                    add_in_order(total, terms, where, keep)
        x_bar = call.unbatch(x_bar)
        if self.stage is None:
            out = [round_to(x_bar, call.dtype)]
        else:
            inner, inner_cfg = self.stage(self.config(cfg))
            out = [inner.vjp((arrays[0],), round_to(x_bar, call.dtype), **inner_cfg)[0]]
        for s, p_bar, shape, primal in zip(
            self.input_specs[1:], p_bars, call.param_shapes, arrays[1:]
        ):
            if not s.differentiable or primal is None:
                out.append(None)
            else:
                out.append(round_to(p_bar.reshape(shape), primal.dtype))
        return tuple(out)

    def __call__(self, *primals, **cfg):
        return self.forward(*primals, **cfg)


def _sliced(kind: str, a, where):
    """One input in the reducer's layout, cut to the block of outputs at ``where``: draws
    per output (``[N, C, *O(, K)]``) and parameters per output position (``[1, C, *O]``)
    follow the block; per-channel and per-layer inputs are the same for every block."""
    if a is None:
        return a
    if kind in ("output", "cell"):
        return a[where]
    if kind == "position" and np.ndim(a) > 2 and np.shape(a)[2:] != (1,) * (np.ndim(a) - 2):
        return a[(slice(None), slice(None), *where[2:])]
    return a


def _gather(part: Call, xb: np.ndarray, where, cdt) -> np.ndarray:
    """The windows of one block in the compute type (each cell converted exactly)."""
    x = xb if where is None else xb[where[0]]
    return part.geometry.gather(x, fill=0).astype(cdt, copy=False)


def _place(out, where, part, full) -> np.ndarray:
    """One block's result ``part`` written at ``where`` into ``out``, the result of the
    whole call (``full`` shaped, allocated by the first block); a block that is the whole
    call (``where = None``) is the result itself."""
    if where is None:
        return part
    part = np.asarray(part)
    if out is None:
        out = np.empty(tuple(full), dtype=part.dtype)
    out[where] = part
    return out


def kept_axes(kind: str, shape: tuple[int, ...], d: int) -> tuple[int, ...]:
    """The axes of the terms' layout ``[N, C, *O]`` (``[N, C, *O, K]`` for a window-shaped
    parameter) that a parameter of this kind and shape keeps; its cotangent sums the
    others. ``[K]`` keeps the cell, ``[C, K]`` the channel and the cell; ``()`` keeps
    nothing, ``[C]`` the channel, ``[C, *O]`` the channel and the output position."""
    if kind == "window":
        return (1, d + 2) if len(shape) == 2 else (d + 2,)
    return tuple(range(1, 1 + len(shape)))


def add_in_order(total: np.ndarray, terms: np.ndarray, where, keep) -> None:
    """Add one block's ``terms`` of a parameter's cotangent into ``total``, in place, one
    term at a time in a fixed order: batch entry, then output position (row-major), then
    channel. ``terms`` has the block's layout ``[n, C, *o]`` (``[n, C, *o, K]`` for a
    window-shaped parameter), ``where`` where the block lies in the call's layout
    (``None``: it is the whole call), ``total`` the sum so far over the axes ``keep``
    keeps (:func:`kept_axes`), shaped like the parameter in that layout.

    A block holds every channel of a run of positions that is contiguous in that order, and
    blocks come in that order, so the additions are the same, one by one, whatever the
    budget: a blocked cotangent is bit for bit the unblocked one, and no more than one
    block's terms are held at a time (not the call's ``[N, C, *O, K]``).

    >>> terms = np.array([[[1e16, -1e16], [1.0, 1.0]]])  # [N, C, O]: 1e16, 1, -1e16, 1
    >>> total = np.zeros(())
    >>> add_in_order(total, terms, None, ())
    >>> float(total)                                      # ((1e16 + 1) - 1e16) + 1
    1.0
    >>> total = np.zeros(())                              # the same in two blocks
    >>> add_in_order(total, terms[..., :1], (slice(0, 1), slice(None), slice(0, 1)), ())
    >>> add_in_order(total, terms[..., 1:], (slice(0, 1), slice(None), slice(1, 2)), ())
    >>> float(total)
    1.0
    """
    region = (...,) if where is None else tuple(where[a] if a < len(where) else ... for a in keep)
    summed = [a for a in (0, *range(2, terms.ndim), 1) if a not in keep]
    rows = terms.transpose(summed + list(keep))  # the terms in order, along the leading axes
    count = math.prod(rows.shape[: len(summed)])
    sequence = np.empty((1 + count, *rows.shape[len(summed) :]), dtype=total.dtype)
    sequence[0] = total[region]  # the sum so far, then the block's terms one by one
    sequence[1:].reshape(rows.shape)[...] = rows
    total[region] = np.add.accumulate(sequence, axis=0, out=sequence)[-1]


def _shape(x_shape) -> tuple[int, ...]:
    """C23: a shape is a sequence of non-negative integers."""
    if isinstance(x_shape, (str, bytes)) or not hasattr(x_shape, "__iter__"):
        raise fail("C23", f"shape {x_shape!r} must be a sequence of non-negative integers")
    shape = tuple(x_shape)
    if not all(isinstance(n, numbers.Integral) and not is_flag(n) and n >= 0 for n in shape):
        raise fail("C23", f"shape {shape!r} must be a sequence of non-negative integers")
    return tuple(int(n) for n in shape)


def real_array(name: str, value) -> np.ndarray:
    """C24: an input other than x as an array of real numbers (an object array for mpmath
    numbers is kept as it is)."""
    if value is None or isinstance(value, (str, bytes)) or is_flag(value):
        raise fail("C24", f"{name}={value!r} must be a real number or an array of them")
    a = np.asarray(value)
    if a.dtype.kind not in "fiu" and not (a.dtype == object and _all_real(a)):
        raise fail(
            "C24", f"{name} holds {a.dtype} values; it must be a real number or real numbers"
        )
    return a


def _all_real(a: np.ndarray) -> bool:
    return all(
        (isinstance(v, numbers.Real) and not is_flag(v)) or type(v).__name__ == "mpf"
        for v in a.ravel()
    )


def pick(a: np.ndarray, sel: np.ndarray, empty) -> np.ndarray:
    """``a[..., sel]`` along the window axis; ``empty`` where ``sel == -1``."""
    got = np.take_along_axis(a, np.maximum(sel, 0)[..., None], axis=-1)[..., 0]
    return np.where(sel >= 0, got, np.asarray(empty, dtype=a.dtype))


def one_hot(sel: np.ndarray, k: int, scale: np.ndarray) -> np.ndarray:
    """``scale`` placed at window cell ``sel`` (nothing where ``sel == -1``)."""
    hot = np.arange(k) == sel[..., None]
    return np.where(hot, scale[..., None], np.zeros((), dtype=scale.dtype))


#: The ``mode`` option of the stochastic poolers: ``"train"`` takes the explicit random
#: draw, ``"eval"`` is the op's deterministic evaluation rule.
MODE = Option("mode", "train", ("train", "eval"))
