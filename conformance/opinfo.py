"""Per-op knowledge, keyed by op name: the ONE place a new op of ``spec.OPS`` plugs in.

An :class:`OpInfo` says how to draw the op's extra inputs (``norm_type``, ``beta``)
and options (``count_include_pad``, ``sign``, ...), which invalid values break which
numbered constraint, which error model bounds its rounding (see docs/tolerances.md),
and which metamorphic relations hold. Geometry (kernel, stride, padding, dilation,
ceil_mode, output_size) is shared by every op and drawn in ``strategies``.

An op of ``spec.OPS`` without an entry in :data:`OP_INFO` is reported as
"no strategy", never a crash. To add an op: write its entry here (and, if it rounds
in a new way, its error model in ``tolerances``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .cases import to_dtype
from .targets import CONVENTION_OPTIONS

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
    "zeros",
)
FINITE_REGIMES = ("grid", "grid", "floats", "floats", "zeros")


@dataclass(frozen=True)
class Invalid:
    """One way to break a constraint: ``make(draw, caps, C)`` returns changes to apply."""

    constraint: str
    what: str
    key: str  # the config key or input it changes (skipped when the target lacks it)
    make: Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class OpInfo:
    name: str
    #: ``draw_params(draw, caps, channels, dtype, purpose) -> tuple of arrays``
    draw_params: Callable[..., tuple] = lambda draw, caps, c, dtype, purpose: ()
    #: ``draw_options(draw, caps, purpose) -> dict`` of the op's own options
    draw_options: Callable[..., dict] = lambda draw, caps, purpose: {}
    #: error model name in ``tolerances.FORWARD_MODELS`` / gradient models
    error_model: str | Callable[..., str] = "exact"
    invalid: tuple[Invalid, ...] = ()
    #: value regimes for forward-like properties and for derivative properties
    forward_regimes: tuple[str, ...] = ALL_REGIMES
    gradient_regimes: tuple[str, ...] = ALL_REGIMES
    #: metamorphic relations that hold
    translation: bool = True
    monotone: bool = False
    #: ``scale_params(params, alpha)``: params for which ``f(alpha x) = alpha f(x)``
    scale_params: Callable[..., tuple] | None = lambda params, alpha: params
    #: the largest magnitude drawn, as a fraction of the dtype's largest finite value
    magnitude_fraction: float = 0.5
    notes: dict[str, str] = field(default_factory=dict)
    #: ``error_model`` may also be a callable of the case's cfg (e.g. by ``mode``);
    #: ``gradient_model`` overrides it for JVP/VJP (Gumbel train: straight-through)
    gradient_model: str | Callable[..., str] | None = None
    #: ``prepare_x(x, rng) -> x``: bring drawn values into the op's input domain
    prepare_x: Callable[..., np.ndarray] | None = None
    #: monotone up to the rounding of the two evaluations (rounding ops)
    monotone_slack: bool = False
    #: the op gathers ordinary sliding windows (False: s3_pool, a composition)
    sliding_windows: bool = True


# -- option and parameter draws ------------------------------------------------------------
def _choose(draw, caps, key: str, default_values: tuple):
    allowed = caps.option_values.get(key, default_values)
    return draw(st.sampled_from(tuple(v for v in default_values if v in allowed) or allowed))


def _conventions(op: str, draw, caps) -> dict[str, Any]:
    """The convention options of ``op`` (``targets.CONVENTION_OPTIONS``) that the target
    declares in ``option_values``: the value it follows. Nothing for a target that declares
    nothing, so the spec's default applies (``ndpool.impl`` and ``ndpool.spec`` keep it)."""
    out: dict[str, Any] = {}
    for key in CONVENTION_OPTIONS.get(op, ()):
        values = caps.option_values.get(key)
        if values and key in caps.keys(op):
            out[key] = draw(st.sampled_from(tuple(values)))
    return out


def _max_options(draw, caps, purpose):
    return _conventions("max_pool", draw, caps)


def _adaptive_max_options(draw, caps, purpose):
    return _conventions("adaptive_max_pool", draw, caps)


def _avg_options(draw, caps, purpose):
    keys = caps.config_keys
    out: dict[str, Any] = _conventions("avg_pool", draw, caps)
    if keys is None or "count_include_pad" in keys:
        out["count_include_pad"] = _choose(draw, caps, "count_include_pad", (True, False))
    if keys is None or "divisor_override" in keys:
        common = (None,) * 6
        choices = common + ((1, 2, 3, 5) if purpose == "monotone" else (1, 2, 3, -2))
        out["divisor_override"] = draw(st.sampled_from(choices))
    return out


def _lp_options(draw, caps, purpose):
    out = _conventions("lp_pool", draw, caps)
    if caps.config_keys is not None and "sign" not in caps.config_keys:
        return out
    return {"sign": _choose(draw, caps, "sign", ("abs", "signed")), **out}


def _smooth_options(draw, caps, purpose):
    if caps.config_keys is not None and "padding_policy" not in caps.config_keys:
        return {}
    return {"padding_policy": _choose(draw, caps, "padding_policy", ("ignore", "zero"))}


def _param(draw, caps, channels: int, dtype: str, values) -> np.ndarray:
    forms = caps.param_forms
    form = draw(st.sampled_from(forms)) if channels > 0 else "scalar"
    if form == "per_channel":
        arr = np.array([draw(values) for _ in range(channels)], dtype=np.float64)
    else:
        arr = np.array(draw(values), dtype=np.float64)
    return to_dtype(arr, dtype)


def _lp_params(draw, caps, channels, dtype, purpose):
    signed = purpose.get("sign") == "signed"
    finite = st.one_of(
        st.sampled_from((1.0, 2.0, 3.0, 0.5, 1.5, 4.0)),
        st.floats(0.25, 8.0),
    )
    values = finite if signed or purpose.get("finite_p") else st.one_of(finite, st.just(np.inf))
    return (_param(draw, caps, channels, dtype, values),)


def _smooth_params(draw, caps, channels, dtype, purpose):
    values = st.one_of(st.sampled_from((0.5, 1.0, 2.0, 8.0)), st.floats(0.125, 16.0))
    return (_param(draw, caps, channels, dtype, values),)


def _smooth_scale(params, alpha):
    (beta,) = params
    return (beta / alpha,)  # f(alpha x; beta / alpha) = alpha f(x; beta)


# -- invalid configurations ------------------------------------------------------------
def _param_value(value):
    def make(draw, caps, channels):
        return {"param0": np.array(value, dtype=np.float64)}

    return make


def _param_shape(draw, caps, channels):
    return {"param0": np.ones(channels + 1, dtype=np.float64)}


LP_INVALID = (
    Invalid("C10", "norm_type = 0", "norm_type", _param_value(0.0)),
    Invalid("C10", "norm_type < 0", "norm_type", _param_value(-2.0)),
    Invalid("C10", "norm_type NaN", "norm_type", _param_value(np.nan)),
    Invalid(
        "C10",
        "norm_type = inf with sign='signed'",
        "sign",
        lambda draw, caps, c: {"param0": np.array(np.inf), "sign": "signed"},
    ),
    Invalid("C12", "norm_type of shape [C+1]", "per_channel", _param_shape),
    Invalid("C14", "sign='negative'", "sign", lambda draw, caps, c: {"sign": "negative"}),
)

SMOOTH_INVALID = (
    Invalid("C11", "beta = 0", "beta", _param_value(0.0)),
    Invalid("C11", "beta < 0", "beta", _param_value(-1.0)),
    Invalid("C11", "beta = inf", "beta", _param_value(np.inf)),
    Invalid("C11", "beta NaN", "beta", _param_value(np.nan)),
    Invalid("C12", "beta of shape [C+1]", "per_channel", _param_shape),
    Invalid(
        "C14",
        "padding_policy='edge'",
        "padding_policy",
        lambda draw, caps, c: {"padding_policy": "edge"},
    ),
)

AVG_INVALID = (
    Invalid(
        "C13", "divisor_override = 0", "divisor_override", lambda d, c, n: {"divisor_override": 0}
    ),
)


# -- the learnable and stochastic poolers (issue 6) ----------------------------------------
# ``purpose`` carries ``x_shape``, ``cfg`` (geometry + options) and ``k`` (window cells) for
# the inputs whose shape depends on the geometry; random draws come from the spec's own
# samplers with a NumPy Generator seeded from Hypothesis (so examples shrink and replay).
def model(case, gradient: bool = False) -> str:
    """The error model of ``case`` (``gradient``: for its JVP/VJP)."""
    info = OP_INFO[case.op]
    m = info.gradient_model if gradient and info.gradient_model is not None else info.error_model
    return m(case.cfg) if callable(m) else m


def _window_param(draw, caps, channels, dtype, purpose, values) -> np.ndarray:
    """A ``[K]`` (per layer) or ``[C, K]`` (per channel) parameter."""
    k = purpose["k"]
    per_channel = "per_channel" in caps.param_forms and draw(st.booleans())
    shape = (channels, k) if per_channel else (k,)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return to_dtype(values(rng, shape), dtype)


def _sample(op: str, index: int, draw, purpose) -> np.ndarray:
    """The spec's sampler of input ``index`` of ``op``, seeded from Hypothesis."""
    from ndpool import spec

    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sampler = spec.OPS[op].input_specs[index].sampler
    return sampler(rng, purpose["x_shape"], **purpose["cfg"])


def _mode_options(draw, caps, purpose):
    if caps.config_keys is not None and "mode" not in caps.config_keys:
        return {}
    return {"mode": _choose(draw, caps, "mode", ("train", "eval"))}


def _quantile_params(draw, caps, channels, dtype, purpose):
    q = st.one_of(st.sampled_from((0.5, 0.25, 0.75, 0.1, 0.9)), st.floats(0.1, 0.9))
    alpha = st.one_of(st.sampled_from((1.0, 2.0, 0.5, 3.0)), st.floats(0.5, 3.0))
    return (_param(draw, caps, channels, dtype, q), _param(draw, caps, channels, dtype, alpha))


def _quantile_scale(params, alpha):
    q, a = params
    return (q, a / alpha)  # m(alpha x; q, a / alpha) = alpha m(x; q, a): z is unchanged


def _mixed_params(draw, caps, channels, dtype, purpose):
    a = st.one_of(st.sampled_from((0.0, 1.0, -1.0)), st.floats(-4.0, 4.0))
    return (_param(draw, caps, channels, dtype, a),)


def _gate_values(rng, shape):
    return 0.5 * rng.standard_normal(shape)


def _gated_params(draw, caps, channels, dtype, purpose):
    return (_window_param(draw, caps, channels, dtype, purpose, _gate_values),)


def _gated_scale(params, alpha):
    (omega,) = params
    return (omega / alpha,)  # the gate sees omega . x unchanged


def _tree_params(draw, caps, channels, dtype, purpose):
    k = max(purpose["k"], 1)

    def leaf(rng, shape):
        return rng.standard_normal(shape) / k

    return (
        _window_param(draw, caps, channels, dtype, purpose, leaf),
        _window_param(draw, caps, channels, dtype, purpose, leaf),
        _window_param(draw, caps, channels, dtype, purpose, _gate_values),
    )


def _tree_scale(params, alpha):
    v1, v2, omega = params
    return (v1, v2, omega / alpha)


def _stochastic_params(draw, caps, channels, dtype, purpose):
    if purpose["cfg"].get("mode", "train") != "train":
        return (None,)
    return (_sample("stochastic_pool", 1, draw, purpose),)


def _non_negative(x, rng):
    """stochastic_pool's domain (C18): finite and >= 0."""
    return np.where(np.isfinite(x), np.abs(x), 0.0)


def _s3_params(draw, caps, channels, dtype, purpose):
    if purpose["cfg"].get("mode", "train") != "train":
        return (None,)
    return (_sample("s3_pool", 1, draw, purpose),)


def _gumbel_params(draw, caps, channels, dtype, purpose):
    t = st.one_of(st.sampled_from((1.0, 0.5, 2.0)), st.floats(0.5, 2.0))
    temperature = _param(draw, caps, channels, dtype, t)
    if purpose["cfg"].get("mode", "train") != "train":
        return (temperature, None)
    return (temperature, _sample("gumbel_pool", 2, draw, purpose))


def _gumbel_scale(params, alpha):
    temperature, g = params
    return (temperature * alpha, g)  # the scores x / T are unchanged


def _gem_params(draw, caps, channels, dtype, purpose):
    p = st.one_of(st.sampled_from((1.0, 2.0, 3.0, 0.7, 4.0)), st.floats(0.7, 4.0))
    return (_param(draw, caps, channels, dtype, p),)


def _gem_options(draw, caps, purpose):
    if caps.config_keys is not None and "eps" not in caps.config_keys:
        return {}
    return {"eps": draw(st.sampled_from((1e-6, 1e-6, 0.5, 0.0)))}


def _identity_scale(params, alpha):
    return params


def _at(index: int, value):
    """Input ``index`` (after x) replaced by ``value`` (a callable gets the current one)."""

    def make(draw, caps, channels):
        return {f"param{index}": value}

    return make


def _window_shape(index: int):
    def make(draw, caps, channels):
        return {f"param{index}": lambda p: np.ones(np.shape(p)[:-1] + (np.shape(p)[-1] + 1,))}

    return make


QUANTILE_INVALID = (
    Invalid("C17", "q = 0", "q", _at(0, np.array(0.0))),
    Invalid("C17", "q = 1", "q", _at(0, np.array(1.0))),
    Invalid("C17", "q < 0", "q", _at(0, np.array(-0.5))),
    Invalid("C17", "q NaN", "q", _at(0, np.array(np.nan))),
    Invalid("C17", "alpha = 0", "alpha", _at(1, np.array(0.0))),
    Invalid("C17", "alpha < 0", "alpha", _at(1, np.array(-1.0))),
    Invalid("C17", "alpha = inf", "alpha", _at(1, np.array(np.inf))),
    Invalid(
        "C12",
        "q of shape [C+1]",
        "per_channel",
        lambda d, c, n: {"param0": np.full(n + 1, 0.5)},  # valid values: only the shape breaks
    ),
)
MIXED_INVALID = (Invalid("C12", "a of shape [C+1]", "per_channel", _param_shape),)
GATED_INVALID = (Invalid("C15", "omega of shape [..., K+1]", "omega", _window_shape(0)),)
TREE_INVALID = (
    Invalid("C15", "v1 of shape [..., K+1]", "v1", _window_shape(0)),
    Invalid("C15", "omega of shape [..., K+1]", "omega", _window_shape(2)),
)
MODE_INVALID = Invalid("C14", "mode='test'", "mode", lambda d, c, n: {"mode": "test"})
STOCHASTIC_INVALID = (
    Invalid(
        "C18",
        "a negative input cell",
        "values",
        lambda d, c, n: {"x": lambda x: np.where(np.arange(x.size).reshape(x.shape) == 0, -1.0, x)},
    ),
    Invalid(
        "C18",
        "a NaN input cell",
        "values",
        lambda d, c, n: {
            "x": lambda x: np.where(np.arange(x.size).reshape(x.shape) == 0, np.nan, x)
        },
    ),
    Invalid(
        "C18",
        "u = 1 (outside [0, 1))",
        "u",
        lambda d, c, n: {
            "mode": "train",
            "param0": lambda u: np.ones_like(u) if u is not None else u,
        },
    ),
    Invalid("C16", "no u in train mode", "u", lambda d, c, n: {"mode": "train", "param0": None}),
    MODE_INVALID,
)
S3_INVALID = (
    Invalid(
        "C21",
        "indices outside their grid",
        "indices",
        lambda d, c, n: {"mode": "train", "param0": lambda i: None if i is None else i + 10**6},
    ),
    Invalid(
        "C16",
        "no indices in train mode",
        "indices",
        lambda d, c, n: {"mode": "train", "param0": None},
    ),
    MODE_INVALID,
)
GUMBEL_INVALID = (
    Invalid("C19", "temperature = 0", "temperature", _at(0, np.array(0.0))),
    Invalid("C19", "temperature < 0", "temperature", _at(0, np.array(-1.0))),
    Invalid("C19", "temperature = inf", "temperature", _at(0, np.array(np.inf))),
    Invalid("C19", "temperature NaN", "temperature", _at(0, np.array(np.nan))),
    Invalid("C12", "temperature of shape [C+1]", "per_channel", _param_shape),
    Invalid(
        "C16", "no noise g in train mode", "g", lambda d, c, n: {"mode": "train", "param1": None}
    ),
    MODE_INVALID,
)
GEM_INVALID = (
    Invalid("C20", "p = 0", "p", _at(0, np.array(0.0))),
    Invalid("C20", "p < 0", "p", _at(0, np.array(-2.0))),
    Invalid("C20", "p = inf", "p", _at(0, np.array(np.inf))),
    Invalid("C20", "p NaN", "p", _at(0, np.array(np.nan))),
    Invalid("C20", "eps < 0", "eps", lambda d, c, n: {"eps": -1.0}),
    Invalid("C12", "p of shape [C+1]", "per_channel", _param_shape),
)


def _by_mode(train: str, eval_: str) -> Callable[..., str]:
    return lambda cfg: train if cfg.get("mode", "train") == "train" else eval_


OP_INFO: dict[str, OpInfo] = {
    "max_pool": OpInfo("max_pool", draw_options=_max_options, error_model="exact", monotone=True),
    # a selection (order statistic): exact, monotone, homogeneous, like max
    "median_pool": OpInfo("median_pool", error_model="exact", monotone=True),
    "adaptive_max_pool": OpInfo(
        "adaptive_max_pool",
        draw_options=_adaptive_max_options,
        error_model="exact",
        monotone=True,
        translation=False,
    ),
    "avg_pool": OpInfo(
        "avg_pool",
        draw_options=_avg_options,
        error_model="sum",
        invalid=AVG_INVALID,
        monotone=True,
        magnitude_fraction=2.0**-10,
    ),
    "adaptive_avg_pool": OpInfo(
        "adaptive_avg_pool",
        error_model="sum",
        monotone=True,
        translation=False,
        magnitude_fraction=2.0**-10,
    ),
    "lp_pool": OpInfo(
        "lp_pool",
        draw_params=_lp_params,
        draw_options=_lp_options,
        error_model="lp",
        invalid=LP_INVALID,
        gradient_regimes=FINITE_REGIMES,
        magnitude_fraction=2.0**-10,
    ),
    "smooth_max_pool": OpInfo(
        "smooth_max_pool",
        draw_params=_smooth_params,
        draw_options=_smooth_options,
        error_model="logsumexp",
        invalid=SMOOTH_INVALID,
        gradient_regimes=FINITE_REGIMES,
        scale_params=_smooth_scale,
        magnitude_fraction=2.0**-10,
    ),
    # -- issue 6: the learnable and stochastic poolers (see docs/tolerances.md) ----------
    # quantile: the implicit root; monotone in x (up to rounding), f(cx; q, a/c) = c f(x)
    "quantile_pool": OpInfo(
        "quantile_pool",
        draw_params=_quantile_params,
        error_model="quantile",
        invalid=QUANTILE_INVALID,
        gradient_regimes=FINITE_REGIMES,
        monotone=True,
        monotone_slack=True,
        scale_params=_quantile_scale,
        magnitude_fraction=2.0**-10,
    ),
    # blends of max and mean: mixed is monotone (non-negative weights), gated and tree
    # are not (the gate and the leaf filters depend on x with either sign)
    "mixed_pool": OpInfo(
        "mixed_pool",
        draw_params=_mixed_params,
        error_model="mixed",
        invalid=MIXED_INVALID,
        gradient_regimes=FINITE_REGIMES,
        monotone=True,
        monotone_slack=True,
        magnitude_fraction=2.0**-10,
    ),
    "gated_pool": OpInfo(
        "gated_pool",
        draw_params=_gated_params,
        error_model="gated",
        invalid=GATED_INVALID,
        forward_regimes=FINITE_REGIMES,
        gradient_regimes=FINITE_REGIMES,
        scale_params=_gated_scale,
        magnitude_fraction=2.0**-10,
    ),
    "tree_pool": OpInfo(
        "tree_pool",
        draw_params=_tree_params,
        error_model="tree",
        invalid=TREE_INVALID,
        forward_regimes=FINITE_REGIMES,
        gradient_regimes=FINITE_REGIMES,
        scale_params=_tree_scale,
        magnitude_fraction=2.0**-10,
    ),
    # train: a selection by the inverse CDF at u (exact; u nudged off CDF boundaries);
    # eval: sum x^2 / sum x. Not monotone (the pick, and x_j < y/2 lowers the eval value).
    "stochastic_pool": OpInfo(
        "stochastic_pool",
        draw_params=_stochastic_params,
        draw_options=_mode_options,
        error_model=_by_mode("exact", "ratio"),
        invalid=STOCHASTIC_INVALID,
        forward_regimes=FINITE_REGIMES,
        gradient_regimes=FINITE_REGIMES,
        prepare_x=_non_negative,
        magnitude_fraction=2.0**-10,
    ),
    # a composition (stride-1 max, then rows or avg): its own geometry strategy; the
    # grid of kept rows is not shift-invariant, so no translation relation
    "s3_pool": OpInfo(
        "s3_pool",
        draw_params=_s3_params,
        draw_options=_mode_options,
        error_model=_by_mode("exact", "s3_eval"),
        invalid=S3_INVALID,
        gradient_regimes=FINITE_REGIMES,
        translation=False,
        monotone=True,
        monotone_slack=True,
        magnitude_fraction=2.0**-10,
        sliding_windows=False,
    ),
    # train: the first argmax of x/T + g (exact where the spec's selection margin exceeds
    # the score rounding, else either near-best cell), straight-through derivatives
    "gumbel_pool": OpInfo(
        "gumbel_pool",
        draw_params=_gumbel_params,
        draw_options=_mode_options,
        error_model=_by_mode("gumbel_select", "softmax"),
        gradient_model="softmax",
        invalid=GUMBEL_INVALID,
        gradient_regimes=FINITE_REGIMES,
        scale_params=_gumbel_scale,
        magnitude_fraction=2.0**-10,
    ),
    # softmax-weighted sum: neither monotone nor homogeneous (the weights see x itself)
    "soft_pool": OpInfo(
        "soft_pool",
        error_model="softmax",
        gradient_regimes=FINITE_REGIMES,
        scale_params=None,
        magnitude_fraction=2.0**-10,
    ),
    # generalized mean of max(x, eps): monotone; not homogeneous with a fixed eps
    "gem_pool": OpInfo(
        "gem_pool",
        draw_params=_gem_params,
        draw_options=_gem_options,
        error_model="gem",
        invalid=GEM_INVALID,
        gradient_regimes=FINITE_REGIMES,
        monotone=True,
        monotone_slack=True,
        scale_params=None,
        magnitude_fraction=2.0**-10,
    ),
}


def info(op: str) -> OpInfo | None:
    return OP_INFO.get(op)
