"""The conformance record of an op: everything the suite knows about it beyond the spec.

The spec's record (``ndpool.spec.OPS[name]``: signature, inputs and which are
differentiable, options and which name conventions, windows, exactness) says what the op
*is*; an :class:`OpInfo` says how to *check* it: how to draw its extra inputs and options
(the window geometry is drawn by a shared strategy), which invalid values break which
numbered constraint, how its numbers are compared (its forward error bound and the
magnitudes of its partials, callables of the case: docs/tolerances.md derives each), and
which metamorphic relations hold. The records live in :mod:`ndpool.conformance.ops`, one
module per op family, and ``OP_INFO`` there maps a name to its record.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ndpool import spec

from . import tolerances as tol
from .cases import Case, to_dtype

#: Value regimes (see ``strategies.values``): which edge values a property may draw.
#: (repeated entries weight the draw: most examples are ties and ordinary floats)
ALL_REGIMES = (
    "grid",
    "grid",
    "floats",
    "floats",
    "specials",
    "nan",
    "neg_inf",
    "magnitudes",
    "scaled",
    "wide",
    "zeros",
)
FINITE_REGIMES = ("grid", "grid", "floats", "floats", "zeros", "scaled")


@dataclass(frozen=True)
class Invalid:
    """One way to break a constraint: ``make(draw, caps, C)`` returns the changes to apply
    (``paramN`` replaces input N after x, ``x`` the input, anything else a config key; a
    callable value is applied to the current one), or, for a geometry breaker, ``make(data,
    case)`` returns the broken case. ``key`` is the config key or input it changes (the
    breaker is skipped when the target lacks it; ``"per_channel"``: needs per-channel
    parameters; ``"values"``: always applies). ``constraint`` None: the breaker passes a
    value of the wrong type, and the constraint is the one the spec names for it; ``given``
    is then that value's type name (``"float"``, ``"str"``, ``"bool"``, ...: the scope fact
    ``broken_type``), None for a breaker of a value of the right type."""

    constraint: str | None  # None: whichever the spec names (a wrong type)
    what: str
    key: str
    make: Callable[..., Any]
    geometry: bool = False  # make(data, case) -> case, rather than make(draw, caps, C) -> changes
    given: str | None = None


def never(cfg: dict) -> bool:
    return False


def always(cfg: dict) -> bool:
    return True


def exact_forward(case: Case, ref) -> tol.Allowed:
    """A selection: the target returns the spec's value bit for bit (sign of zero too)."""
    return tol.Allowed.radius(ref, 0.0, exact=True)


@dataclass(frozen=True)
class OpInfo:
    """How the suite checks one op (see the module doc).

    ``draw_params(draw, caps, channels, dtype, purpose)`` draws the inputs after x and
    ``draw_options(draw, caps, purpose)`` the op's own options (``purpose`` holds the
    property name, ``x_shape``, ``cfg`` and the window cells ``k``); ``draw_geometry`` the
    window keywords (``strategies.sliding_geometry`` and friends); ``prepare_x`` brings
    drawn values into the op's input domain and ``adjust_params(x, params, cfg, dtype)``
    the drawn inputs into a range the comparison is meaningful in.

    ``forward(case, ref) -> Allowed`` bounds the forward value; ``selects(cfg)``: the value
    is one input cell (compared exactly, also in the metamorphic relations);
    ``exact_jvp(cfg)``: the JVP copies one tangent (compared exactly);
    ``partials(case, win) -> Partials`` the magnitudes and errors of the partials, from
    which JVP and VJP bounds follow (:func:`ndpool.conformance.tolerances.jvp_bound`);
    ``jvp_bound(case, tangents)`` / ``vjp_bound(case, cotangent)`` replace them where the
    op bounds its derivatives itself (a selection's VJP, a composition; ``vjp_bound`` may
    return ``None`` for a configuration it leaves to the partials).
    """

    name: str
    draw_params: Callable[..., tuple] = lambda draw, caps, c, dtype, purpose: ()
    draw_options: Callable[..., dict] = lambda draw, caps, purpose: {}
    draw_geometry: Callable[..., tuple] | None = None
    invalid: tuple[Invalid, ...] = ()
    forward_regimes: tuple[str, ...] = ALL_REGIMES
    gradient_regimes: tuple[str, ...] = ALL_REGIMES
    #: the largest magnitude drawn, as a fraction of the dtype's largest finite value
    magnitude_fraction: float = 0.5
    prepare_x: Callable[..., np.ndarray] | None = None
    adjust_params: Callable[..., tuple] | None = None
    forward: Callable[..., tol.Allowed] = exact_forward
    selects: Callable[[dict], bool] = never
    exact_jvp: Callable[[dict], bool] = never
    partials: Callable[..., tol.Partials] | None = None
    jvp_bound: Callable[..., np.ndarray] | None = None
    vjp_bound: Callable[..., np.ndarray] | None = None
    #: metamorphic relations that hold
    translation: bool = True
    monotone: bool = False
    #: monotone up to the rounding of the two evaluations (rounding ops)
    monotone_slack: bool = False
    #: ``scale_params(params, alpha)``: params for which ``f(alpha x) = alpha f(x)``
    scale_params: Callable[..., tuple] | None = lambda params, alpha: params
    #: failure messages show the window cells of a mismatch (False for a composition)
    shows_windows: bool = True
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> spec.Op:
        return spec.OPS[self.name]

    # -- how numbers are compared ----------------------------------------------------------
    def forward_allowed(self, case: Case, ref) -> tol.Allowed:
        return self.forward(case, ref)

    def jvp_allowed(self, case: Case, tangents, ref_dot, differentiable) -> tol.Allowed:
        """The allowed JVP output."""
        if self.exact_jvp(case.cfg):
            return tol.Allowed.radius(ref_dot, 0, exact=True)
        if self.jvp_bound is not None:
            return tol.Allowed.radius(ref_dot, self.jvp_bound(case, tangents))
        win = tol.Windows(case)
        bound, magnitude = tol.jvp_bound(
            case, win, self.partials(case, win), tangents, ref_dot, differentiable
        )
        return tol.Allowed.sum_of_terms(
            ref_dot, win.unbatch(bound), win.unbatch(magnitude), case.dtype
        )

    def vjp_allowed(self, case: Case, cotangent, ref_bars, differentiable) -> list:
        """The allowed cotangent of every input (``None`` where it has none)."""
        bound = None if self.vjp_bound is None else self.vjp_bound(case, cotangent)
        if bound is not None:
            return [tol.Allowed.radius(ref_bars[0], bound)] + [None] * (len(ref_bars) - 1)
        win = tol.Windows(case)
        bounds = tol.vjp_bounds(case, win, self.partials(case, win), cotangent, differentiable)
        return [
            None if b is None or ref is None else tol.Allowed.sum_of_terms(ref, *b, case.dtype)
            for b, ref in zip(bounds, ref_bars)
        ]

    def adjoint_bound(self, case, tangents, cotangent, differentiable, jvp_ref, vjp_refs) -> float:
        """``|<JVP(v), u> - <v, VJP(u)>|`` allowed for the target: both sides' errors."""
        ja = self.jvp_allowed(case, tangents, jvp_ref, differentiable)
        va = self.vjp_allowed(case, cotangent, vjp_refs, differentiable)

        def dot0(t, b):  # |t * b| with 0 * anything = 0 (the spec's zero-tangent convention)
            t = np.abs(np.asarray(t, dtype=np.float64))
            with np.errstate(invalid="ignore"):
                return float(np.sum(np.where(t == 0, 0.0, t * np.abs(np.asarray(b, np.float64)))))

        total = dot0(cotangent, ja.radius_of)
        dots = dot0(cotangent, jvp_ref)
        for t, a, ref in zip(tangents, va, vjp_refs):
            if a is None:
                continue
            total += dot0(t, a.radius_of)
            dots += dot0(t, ref)
        n = np.size(cotangent) + sum(np.size(t) for t in tangents)
        return total + 2 * (n + 1) * tol.U64 * dots + tol.SMALLEST_SUBNORMAL[case.dtype] * n


# -- draws shared by the records ------------------------------------------------------------------
def choose(draw, caps, key: str, default_values: tuple):
    """One of an option's values the target declares (``caps.option_values``)."""
    allowed = caps.option_values.get(key, default_values)
    return draw(st.sampled_from(tuple(v for v in default_values if v in allowed) or allowed))


def conventions(op: str, draw, caps) -> dict[str, Any]:
    """The convention options of ``op`` (its spec record marks them) that the target
    declares in ``option_values``: the value it follows. Nothing for a target that declares
    nothing, so the spec's default applies (``ndpool.impl`` and ``ndpool.spec`` keep it)."""
    out: dict[str, Any] = {}
    for option in spec.OPS[op].conventions:
        values = caps.option_values.get(option.name)
        if values and option.name in caps.keys(op):
            out[option.name] = draw(st.sampled_from(tuple(values)))
    return out


#: the most values a per-position parameter draws one by one (the rest repeat them)
POSITION_DRAWS = 64


def param(draw, caps, channels: int, dtype: str, values, positions=None) -> np.ndarray:
    """A per-channel parameter: a scalar or ``[C]`` (as the target declares), or, given
    ``positions`` (the output's spatial shape ``O``, for a ``position`` input), also
    ``[C, *O]``; rounded."""
    forms = tuple(f for f in caps.param_forms if f != "per_position" or positions is not None)
    form = draw(st.sampled_from(forms)) if channels > 0 and forms else "scalar"
    if form == "per_channel":
        arr = np.array([draw(values) for _ in range(channels)], dtype=np.float64)
    elif form == "per_position":
        shape = (channels, *positions)
        drawn = [draw(values) for _ in range(min(math.prod(shape), POSITION_DRAWS))]
        arr = np.resize(np.array(drawn, dtype=np.float64), shape)
    else:
        arr = np.array(draw(values), dtype=np.float64)
    return to_dtype(arr, dtype)


def window_param(draw, caps, channels, dtype, purpose, values) -> np.ndarray:
    """A ``[K]`` (per layer) or ``[C, K]`` (per channel) parameter."""
    k = purpose["k"]
    per_channel = "per_channel" in caps.param_forms and draw(st.booleans())
    shape = (channels, k) if per_channel else (k,)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return to_dtype(values(rng, shape), dtype)


def sample(op: str, index: int, draw, purpose) -> np.ndarray:
    """The spec's sampler of input ``index`` of ``op``, seeded from Hypothesis (so examples
    shrink and replay)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sampler = spec.OPS[op].input_specs[index].sampler
    return sampler(rng, purpose["x_shape"], **purpose["cfg"])


def mode_options(draw, caps, purpose) -> dict:
    """The stochastic poolers' ``mode``: train or eval."""
    if caps.config_keys is not None and "mode" not in caps.config_keys:
        return {}
    return {"mode": choose(draw, caps, "mode", ("train", "eval"))}


def train(cfg: dict) -> bool:
    """The stochastic poolers' train mode (the default)."""
    return cfg.get("mode", "train") == "train"


# -- invalid values shared by the records ----------------------------------------------------------
def param_value(value):
    """Input 0 after x replaced by ``value``."""

    def make(draw, caps, channels):
        return {"param0": np.array(value, dtype=np.float64)}

    return make


def param_shape(draw, caps, channels):
    """Input 0 after x of shape ``[C + 1]`` (C12)."""
    return {"param0": np.ones(channels + 1, dtype=np.float64)}


def position_shape(draw, caps, channels):
    """Input 0 after x of shape ``[C + 1, 1]``: per position, but for the wrong channels
    (and, beyond one spatial axis, the wrong rank) (C12)."""
    return {"param0": np.ones((channels + 1, 1), dtype=np.float64)}


def at(index: int, value):
    """Input ``index`` (after x) replaced by ``value`` (a callable gets the current one)."""

    def make(draw, caps, channels):
        return {f"param{index}": value}

    return make


def window_shape(index: int):
    """Window input ``index`` (after x) one cell too long (C15)."""

    def make(draw, caps, channels):
        return {f"param{index}": lambda p: np.ones(np.shape(p)[:-1] + (np.shape(p)[-1] + 1,))}

    return make


MODE_INVALID = Invalid("C14", "mode='test'", "mode", lambda d, c, n: {"mode": "test"})
