"""The conventions page: every registered op, and how it treats padding, ties, NaN, indices.

Nothing in the tables is typed by hand. The first table lists ``ndpool.spec.OPS``
(inputs, keywords with their defaults, exactness). The second and third are
*measured*: each cell comes from calling the spec on a tiny probe input and
comparing the result with the candidate conventions (e.g. "is a padded cell
absent, or a zero?"). If an op changes its behaviour, the page changes with it.
An op the probes cannot call (an input they cannot guess) shows "—".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ndpool import spec

# Values for an op's extra differentiable inputs (others get 1.0).
SAMPLE_PARAMS = {
    "norm_type": 2.0,
    "beta": 1.0,
    "p": 3.0,
    "q": 0.5,
    "alpha": 1.0,
    "temperature": 1.0,
}
# Variants worth a row of their own, besides flipping every boolean option.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "max_pool": [{"signed_zeros": "ordered"}, {"empty_window": "lowest"}],
    "adaptive_max_pool": [{"signed_zeros": "ordered"}],
    "avg_pool": [
        {"divisor_override": 2},
        {"count_include_pad": False, "empty_window_derivative": "nan"},
    ],
    "lp_pool": [{"sign": "signed"}, {"partial_window": "rescaled"}],
    "smooth_max_pool": [{"padding_policy": "ignore"}],
}
NA = "—"
REQUIRED = ("kernel_size", "output_size")  # None as their default means "no default"


class Probe:
    """One op with one set of options, callable on 1-D and 2-D probe inputs."""

    def __init__(self, name: str, options: dict[str, Any]):
        self.name = name
        self.op = spec.OPS[name]
        self.options = options

    @property
    def label(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"`{self.name}`" + (f" ({extra})" if extra else "")

    def primals(self, x: np.ndarray) -> tuple:
        """``x`` and a value for every other input: a sample scalar for a per-channel
        parameter, ``None`` for an optional input (the random draws in ``mode="eval"``).
        A per-window-cell weight is an input the probes do not make up: any choice would
        turn the measured convention into one of the weights'."""
        params = []
        for s in self.op.input_specs[1:]:
            if s.kind == "channel":
                params.append(np.float64(SAMPLE_PARAMS.get(s.name, 1.0)))
            elif s.optional and self.options.get("mode") == "eval":
                params.append(None)
            else:
                raise NotImplementedError(f"no probe value for the {s.kind} input {s.name!r}")
        return (x, *params)

    def cfg(self, **geometry) -> dict[str, Any]:
        return {**geometry, **self.options}

    def __call__(self, values, **geometry) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)[None, None]
        return self.op.forward(*self.primals(x), **self.cfg(**geometry))[0, 0]

    def indices(self, values, **geometry) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)[None, None]
        cfg = self.cfg(**geometry)
        return self.op.forward(*self.primals(x), return_indices=True, **cfg)[1][0, 0]

    def vjp(self, values, out: int, **geometry) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)[None, None]
        y = self.op.forward(*self.primals(x), **self.cfg(**geometry))
        y_bar = np.zeros_like(y)
        y_bar[0, 0, out] = 1.0
        return self.op.vjp(self.primals(x), y_bar, **self.cfg(**geometry))[0][0, 0]

    def jvp(self, values, x_dot, **geometry) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)[None, None]
        primals = self.primals(x)
        tangents = (np.asarray(x_dot, dtype=np.float64)[None, None],) + tuple(
            None if p is None else np.zeros_like(p) for p in primals[1:]
        )
        return self.op.jvp(primals, tangents, **self.cfg(**geometry))[1][0, 0]


def _measured(fn: Callable[[Probe], str]) -> Callable[[Probe], str]:
    def cell(probe: Probe) -> str:
        try:
            return fn(probe)
        except Exception:  # an op the probe cannot call: say so, do not guess
            return NA

    cell.__doc__ = fn.__doc__
    return cell


def _same(a, b) -> bool:
    return bool(np.isclose(a, b, rtol=1e-12, atol=0, equal_nan=True))


def _absent_or_zero(y, absent, zero) -> str:
    if _same(y, absent) and _same(y, zero):
        return "absent = zero"
    if _same(y, absent):
        return "absent"
    if _same(y, zero):
        return "zero"
    return f"other ({float(y):.4g})"


@_measured
def padded_cell(probe: Probe) -> str:
    """`[pad −2 −4]` (kernel 3, padding 1) against `[−2 −4]` (absent) and `[0 −2 −4]` (zero)."""
    if probe.op.adaptive:
        return "no padding"
    y = probe([-2.0, -4.0, -6.0], kernel_size=3, stride=1, padding=1)[0]
    absent = probe([-2.0, -4.0], kernel_size=2)[0]
    zero = probe([0.0, -2.0, -4.0], kernel_size=3)[0]
    return _absent_or_zero(y, absent, zero)


@_measured
def overhang_cell(probe: Probe) -> str:
    """the ceil_mode window `[−6 ‖]` past the input (kernel 2, stride 2, no padding) against
    `[−6]` (absent) and `[−6 0]` (zero)."""
    if probe.op.adaptive:
        return "no overhang"
    y = probe([-2.0, -4.0, -6.0], kernel_size=2, stride=2, ceil_mode=True)[1]
    absent = probe([-6.0], kernel_size=1)[0]
    zero = probe([-6.0, 0.0], kernel_size=2)[0]
    return _absent_or_zero(y, absent, zero)


def _linear_weights(probe: Probe, values, out: int, **geometry) -> np.ndarray | None:
    """The VJP row of output ``out`` if the op is linear in x there, else None."""
    draws = np.random.default_rng(0).standard_normal((4, len(values)))
    draws = np.concatenate([draws, -draws])  # max-like ops select other cells under negation
    weights = [probe.vjp(a, out, **geometry) for a in draws]
    linear = all(
        np.allclose(w, weights[0]) and _same(probe(a, **geometry)[out], w @ a)
        for a, w in zip(draws, weights)
    )
    return weights[0] if linear else None


def _divisor(weights: np.ndarray) -> str:
    nonzero = weights[weights != 0]
    if nonzero.size == 0 or not np.allclose(nonzero, nonzero[0]):
        return "?"
    d = 1 / nonzero[0]
    return f"{d:.0f}" if np.isclose(d, round(d)) else f"{d:.4g}"


@_measured
def divisor(probe: Probe) -> str:
    """linear ops only (the VJP does not depend on x, also on a window of 4 real cells):
    1/weight of a real cell, read off the VJP, for the window
    `[pad x x]` (kernel 3, padding 1) and the ceil_mode window `[x ‖]` (kernel 2, stride 2);
    for adaptive ops, for the bins of 5 cells into 3 (sizes 2, 3, 2)."""
    if probe.op.adaptive:
        ws = [_linear_weights(probe, [0.0] * 5, o, output_size=3) for o in range(3)]
        if any(w is None for w in ws):
            return NA
        return "bin size: " + ", ".join(_divisor(w) for w in ws)
    full = _linear_weights(probe, [0.0] * 4, 0, kernel_size=4)
    pad = _linear_weights(probe, [0.0] * 3, 0, kernel_size=3, stride=1, padding=1)
    over = _linear_weights(probe, [0.0] * 3, 1, kernel_size=2, stride=2, ceil_mode=True)
    if full is None or pad is None or over is None:
        return NA
    return f"{_divisor(pad)} · {_divisor(over)}"


@_measured
def empty_window(probe: Probe) -> str:
    """input of length 1, kernel 2, dilation 2, padding 1
    (taps −1 and 1): the value, and whether its VJP is zero (and its JVP, where NaN)."""
    if probe.op.adaptive:
        return "cannot happen"
    geometry = {"kernel_size": 2, "dilation": 2, "padding": 1}
    y = float(probe([5.0], **geometry)[0])
    grad = probe.vjp([5.0], 0, **geometry)
    text = "NaN" if np.isnan(y) else ("−inf" if y == -np.inf else f"{y:.4g}")
    if np.all(grad == 0) and np.isnan(probe.jvp([5.0], [1.0], **geometry)[0]):
        return text + ", NaN JVP (no cell for the VJP)"
    return text + (", zero derivative" if np.all(grad == 0) else "")


def _order(k: int, size: int) -> str:
    return {0: "first", size - 1: "last"}.get(k, f"cell {k}")


@_measured
def ties(probe: Probe) -> str:
    """window `[2 2 2 2]`, every cell tied: which cell the VJP, the JVP (along the tangent
    `[10 20 30 40]`) and the index select; "no selection" when the VJP weighs all alike."""
    window = [2.0, 2.0, 2.0, 2.0]
    geometry = {"kernel_size": 4} if not probe.op.adaptive else {"output_size": 1}
    grad = probe.vjp(window, 0, **geometry)
    hot = np.flatnonzero(grad)
    if np.allclose(grad, grad[0]):
        return "no selection"
    if hot.size != 1:
        top = np.flatnonzero(np.isclose(grad, grad.max()))
        if top.size == 1:
            return f"weighted towards the {_order(int(top[0]), 4)} cell"
        return "?"
    found = {"VJP": _order(int(hot[0]), 4)}
    y_dot = float(probe.jvp(window, [10.0, 20.0, 30.0, 40.0], **geometry)[0])
    found["JVP"] = _order(round(y_dot / 10) - 1, 4) if y_dot in (10, 20, 30, 40) else "?"
    if probe.op.returns_indices:
        found["index"] = _order(int(probe.indices(window, **geometry)[0]), 4)
    if len(set(found.values())) == 1:
        return f"{found['VJP']} cell ({', '.join(found)})"
    return "; ".join(f"{k}: {v}" for k, v in found.items())


@_measured
def nan(probe: Probe) -> str:
    """window `[1 NaN 3 NaN]`: is the output NaN, and which NaN does the index select."""
    window = [1.0, np.nan, 3.0, np.nan]
    geometry = {"kernel_size": 4} if not probe.op.adaptive else {"output_size": 1}
    y = probe(window, **geometry)[0]
    text = "propagates" if np.isnan(y) else f"ignored (gives {float(y):.4g})"
    if probe.op.returns_indices:
        i = int(probe.indices(window, **geometry)[0])
        text += {1: ", index of the first NaN", 3: ", index of the last NaN"}.get(i, f", index {i}")
    return text


@_measured
def signed_zeros(probe: Probe) -> str:
    """window `[−0 +0]`: the sign of the value (and, for selections, the index): a tie
    keeps the first zero, an IEEE maximum gives +0."""
    geometry = {"kernel_size": 2} if not probe.op.adaptive else {"output_size": 1}
    y = float(probe([-0.0, 0.0], **geometry)[0])
    if np.isnan(y) or y != 0:
        return f"{y:.4g}"
    text = "−0" if np.signbit(y) else "+0"
    if probe.op.returns_indices:
        text += f" (index {int(probe.indices([-0.0, 0.0], **geometry)[0])})"
    return text


@_measured
def indices(probe: Probe) -> str:
    """An input `[2, 2, 3, 4]` holding 0..47, kernel 2×2 (adaptive: 1×2 bins): does each
    index, read as a flat row-major index into its own `[H, W]` plane, point at the output?"""
    if not probe.op.returns_indices:
        return "not returned"
    x = np.arange(48, dtype=np.float64).reshape(2, 2, 3, 4)
    geometry = {"output_size": (1, 2)} if probe.op.adaptive else {"kernel_size": (2, 2)}
    cfg = probe.cfg(**geometry)
    y, idx = probe.op.forward(*probe.primals(x), return_indices=True, **cfg)
    plane = x.reshape(2, 2, 12)
    picked = np.take_along_axis(plane, idx.reshape(2, 2, -1), axis=-1)
    flat_in_plane = np.all(idx < 12) and np.array_equal(picked, y.reshape(2, 2, -1))
    return "flat row-major in the (N, C) plane" if flat_in_plane else "other"


def _probes() -> list[Probe]:
    rows = []
    for name, op in spec.OPS.items():
        rows.append(Probe(name, {}))
        for key, default in op.option_defaults.items():
            if isinstance(default, bool):
                rows.append(Probe(name, {key: not default}))
            if key == "mode" and default != "eval":
                rows.append(Probe(name, {"mode": "eval"}))  # deterministic: no random draws
        rows.extend(Probe(name, v) for v in VARIANTS.get(name, []))
    return rows


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return out + [""]


def _legend(columns: dict[str, Callable]) -> list[str]:
    out = []
    for title, fn in columns.items():
        doc = " ".join((fn.__doc__ or "").split())
        out.append(f"- **{title}**: {doc}")
    return out + [""]


def _registry_rows() -> list[list[str]]:
    rows = []
    for name, op in spec.OPS.items():
        keywords = ", ".join(
            f"`{k}` (required)" if k in REQUIRED and v is None else f"`{k}={v!r}`"
            for k, v in op.config_defaults.items()
        )
        arrays = ", ".join(
            f"`{s.name}` ({s.kind}"
            + ("" if s.differentiable else ", no derivative")
            + (", optional" if s.optional else "")
            + ")"
            for s in op.input_specs
        )
        exact = "exact" if op.exact else "rounded"
        exact = "depends on the options" if callable(op.exact) else exact
        rows.append(
            [
                f"`{name}`",
                arrays,
                keywords,
                {"adaptive": "adaptive bins", "sliding": "sliding windows"}.get(
                    op.windows.name, f"its own ({op.windows.name})"
                ),
                exact,
                "yes" if op.returns_indices else "no",
            ]
        )
    return rows


PADDING_COLUMNS: dict[str, Callable[[Probe], str]] = {
    "padded cell": padded_cell,
    "ceil_mode overhang": overhang_cell,
    "divisor": divisor,
    "window with no real cell": empty_window,
}
SELECTION_COLUMNS: dict[str, Callable[[Probe], str]] = {
    "ties": ties,
    "−0 and +0": signed_zeros,
    "NaN": nan,
    "indices": indices,
}


def measured_tables(names: list[str] | None = None, heading: str = "##") -> list[str]:
    """The two measured tables (with their legends), for the ops ``names`` (default: all)."""
    probes = [p for p in _probes() if names is None or p.name in names]
    unknown = sorted(set(names or ()) - set(spec.OPS))
    if unknown:
        raise KeyError(f"conventions asked for ops that are not registered: {unknown}")
    return [
        f"{heading} Padding, overhang and divisor",
        "",
        *_table(
            ["op", *PADDING_COLUMNS],
            [[p.label, *(fn(p) for fn in PADDING_COLUMNS.values())] for p in probes],
        ),
        *_legend(PADDING_COLUMNS),
        f"{heading} Ties, NaN and indices",
        "",
        *_table(
            ["op", *SELECTION_COLUMNS],
            [[p.label, *(fn(p) for fn in SELECTION_COLUMNS.values())] for p in probes],
        ),
        *_legend(SELECTION_COLUMNS),
        f"A cell reads {NA} where the probe does not apply to the op or cannot call it (an",
        "input it cannot make up, such as a window-shaped weight or a random draw); the op's",
        "own page states its rule.",
        "",
    ]


def markdown() -> str:
    lines = [
        "# Conventions table",
        "",
        "Where pooling libraries disagree, the spec makes the convention explicit. This page is",
        "generated at build time: the first table from the op registry `ndpool.spec.OPS`, the",
        "other two by *running* the spec on tiny probe inputs (the legend under each table says",
        'which). "absent" means the cell does not take part at all (max ignores it, a mean',
        'does not count it); "zero" means it takes part with the value 0. A row per op with its',
        "defaults, and a row per variant of an option that changes a convention.",
        "",
        "## Ops and their inputs",
        "",
        "Arrays are positional; configuration is keyword-only. An input's kind says its shape:",
        "*x* `[N, C, *S]`, *channel* a scalar or `[C]`, *window* one value per window cell,",
        "*output* one per output position, *cell* one per window cell of every output, *index*",
        "an op-specific integer array. *Exact* ops only select input values, so a conforming",
        "target matches them bit for bit; *rounded* ops are compared within a tolerance.",
        "",
        *_table(
            ["op", "arrays (kind)", "keywords (defaults)", "windows", "compare", "return_indices"],
            _registry_rows(),
        ),
        *measured_tables(),
    ]
    return "\n".join(lines)
