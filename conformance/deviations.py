"""Known deviations: per-target registry files, scope matching, hit counting, staleness.

A registry is a TOML file (``conformance/deviations/<target>.toml`` for the built-in
targets, or any file given with ``--ndpool-deviations``)::

    [[deviation]]
    id = "nan-last-index"
    property = ["indices", "vjp"]          # one name or a list; "*" for any
    op = ["max_pool", "adaptive_max_pool"] # one name or a list; "*" for any
    scope = { nan_count_in_a_window = "2+" }
    reason = "PyTorch's kernels select the LAST NaN of a window (val > max || isnan(val))."

An entry with ``skip = true`` keeps the suite from calling the target at all inside
its scope (for a target that crashes or corrupts memory there); such examples count
as hits.

A failing example is a *known deviation* when an entry's property and op match and
every ``scope`` key matches the example's facts (:data:`FACTS`: ``dtype``, ``d``,
``layout``, ``batched``, ``ceil_mode``, ``regime`` and computed ones such as
``nan_count_in_a_window``); a scope value may be a list of accepted values. Only
failures inside the scope are forgiven; everything else still fails. Entries never
hit during a run that exercised their (op, property) are reported as stale.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .cases import LARGEST, SMALLEST_NORMAL, Case

DEVIATIONS_DIR = Path(__file__).with_name("deviations")


# -- facts ----------------------------------------------------------------------------------
def _windows(case: Case):
    from .tolerances import Windows

    return Windows(case)


def _nan_count(case: Case) -> str:
    win = _windows(case)
    n = (np.isnan(win.w) & np.broadcast_to(win.real, win.w.shape)).sum(axis=-1)
    top = int(n.max()) if n.size else 0
    return "2+" if top >= 2 else str(top)


def _empty_window(case: Case) -> bool:
    return bool((_windows(case).k == 0).any())


def _padding_over_half_kernel(case: Case) -> bool:
    """Some padding exceeds kernel // 2 (PyTorch's limit) while within the spec's C6."""
    if case.record.adaptive:
        return False
    from .tolerances import geometry

    g = geometry(case)
    k = case.cfg["kernel_size"]
    ks = list(k) if isinstance(k, (tuple, list)) else [k] * case.d
    for axis, kk in zip(g.axes, ks):
        begin = int(-axis.position[0, 0]) if axis.position.size else 0
        if begin > kk // 2:
            return True
    return False


def _partial_ceil_window(case: Case) -> bool:
    if not case.cfg.get("ceil_mode"):
        return False
    win = _windows(case)
    return bool((~win.in_extent).any())


#: the factors ``alpha`` that the positive_scaling property (``check_scaling`` in
#: conformance/properties.py) multiplies the input by
SCALING_ALPHAS = (2.0, 4.0)


def _checked_property() -> str | None:
    """The property whose failure is being matched (``run_example`` records it), if any."""
    from .properties import _CURRENT

    return _CURRENT[-1][1] if _CURRENT else None


def _lp_power_range(case: Case) -> bool:
    """Some real |x|^p leaves the dtype's normal range (a naive x**p over/underflows).
    Under positive_scaling, which evaluates the op at x and at alpha * x (the failure
    names the unscaled case), an overflow of |alpha x|^p for the largest alpha counts too
    (|alpha x|^p only grows with alpha, and x itself is checked for underflow)."""
    if case.op != "lp_pool":
        return False
    p = np.asarray(case.params[0], dtype=np.float64)
    pb = p.reshape((1, -1) + (1,) * case.d) if p.ndim else p
    x = case.x if case.batched else case.x[None]
    ax = np.abs(x)
    scale = max(SCALING_ALPHAS) if _checked_property() == "positive_scaling" else 1.0
    with np.errstate(all="ignore"):
        xp = np.power(ax, pb)
        n = 1
        k = case.cfg.get("kernel_size")
        for v in k if isinstance(k, (tuple, list)) else [k] * case.d:
            n *= v
        big = np.power(ax * scale, pb) * n > LARGEST[case.dtype]
        small = (ax > 0) & np.isfinite(ax) & (xp < SMALLEST_NORMAL[case.dtype] * 2**10)
    return bool((big | small).any())


def _zero_window(case: Case) -> bool:
    win = _windows(case)
    real = np.broadcast_to(win.real, win.w.shape)
    zero = (np.where(real, np.abs(win.w), 0) == 0).all(axis=-1)
    return bool(zero.any())


def _lp_zero(case: Case) -> bool:
    """Lp: a real cell is 0 or a window's value is 0 (where the spec's derivative is 0)."""
    if case.op != "lp_pool":
        return False
    win = _windows(case)
    real = np.broadcast_to(win.real, win.w.shape)
    if ((win.w == 0) & real).any():
        return True
    with np.errstate(all="ignore"):
        y = np.asarray(case.with_x(case.x, return_indices=False).spec_forward())
    return bool((y == 0).any())


def _lp_uncovered_singular(case: Case) -> bool:
    """Lp: a cell read by no window where x**p has no finite derivative (x = 0 with p < 1,
    x < 0 with a non-integer p)."""
    if case.op != "lp_pool":
        return False
    win = _windows(case)
    reads = win.scatter(np.broadcast_to(win.real, win.w.shape).astype(np.float64)) > 0
    p = np.asarray(case.params[0], dtype=np.float64)
    x = case.x if case.batched else case.x[None]
    reads = reads if case.batched else reads[None]
    pb = p.reshape((1, -1) + (1,) * case.d) if p.ndim else p
    singular = ((x == 0) & (pb < 1)) | ((x < 0) & (pb != np.round(pb)))
    return bool((singular & ~reads).any())


def _shorter_than_kernel(case: Case) -> bool:
    if case.record.adaptive:
        return False
    k = case.cfg["kernel_size"]
    ks = list(k) if isinstance(k, (tuple, list)) else [k] * case.d
    return any(length < kk for length, kk in zip(case.x.shape[-case.d :], ks))


def _nonfinite(case: Case) -> bool:
    return bool((~np.isfinite(case.x)).any())


def _padding_form(case: Case) -> str:
    p = case.cfg.get("padding", 0)
    if isinstance(p, str):
        return p
    if isinstance(p, int):
        return "int"
    return "pairs" if any(isinstance(v, (tuple, list)) for v in p) else "ints"


#: name -> function of the case. Cheap facts first; computed ones run only when an
#: entry's scope asks for them.
FACTS: dict[str, Callable[[Case], Any]] = {
    "dtype": lambda c: c.dtype,
    "d": lambda c: c.d,
    "layout": lambda c: c.layout,
    "batched": lambda c: c.batched,
    "ceil_mode": lambda c: bool(c.cfg.get("ceil_mode", False)),
    "padding_form": _padding_form,
    "regime": lambda c: c.meta.get("regime"),
    "empty_batch": lambda c: c.batched and c.x.shape[0] == 0,
    "nonfinite_input": _nonfinite,
    "nan_count_in_a_window": _nan_count,
    "empty_window": _empty_window,
    "zero_window": _zero_window,
    "lp_zero_in_window": _lp_zero,
    "lp_uncovered_singular_cell": _lp_uncovered_singular,
    "input_shorter_than_kernel": _shorter_than_kernel,
    "padding_over_half_kernel": _padding_over_half_kernel,
    "partial_ceil_window": _partial_ceil_window,
    "lp_power_out_of_range": _lp_power_range,
    "norm_type": lambda c: float(np.asarray(c.params[0]).ravel()[0]) if c.params else None,
    "sign": lambda c: c.cfg.get("sign"),
    "broken_constraint": lambda c: c.meta.get("broken_constraint"),
}


# -- entries and registries -------------------------------------------------------------------
@dataclass
class Deviation:
    id: str
    properties: tuple[str, ...]
    ops: tuple[str, ...]
    scope: dict[str, Any]
    reason: str
    #: never call the target inside the scope (it crashes or corrupts memory there)
    skip: bool = False

    def covers(self, prop: str, op: str) -> bool:
        return ("*" in self.properties or prop in self.properties) and (
            "*" in self.ops or op in self.ops
        )

    def matches(self, prop: str, op: str, case: Case) -> bool:
        if not self.covers(prop, op):
            return False
        for key, want in self.scope.items():
            if key not in FACTS:
                raise KeyError(
                    f"deviation {self.id!r}: unknown scope key {key!r}; known: {sorted(FACTS)}"
                )
            have = FACTS[key](case)
            wants = want if isinstance(want, list) else [want]
            if have not in wants:
                return False
        return True


def _tuple(v) -> tuple[str, ...]:
    return tuple(v) if isinstance(v, list) else (v,)


@dataclass
class Registry:
    target: str
    entries: list[Deviation] = field(default_factory=list)
    hits: Counter = field(default_factory=Counter)
    source: str = ""

    @classmethod
    def load(cls, target: str, path: Path | str | None = None) -> Registry:
        path = Path(path) if path else DEVIATIONS_DIR / f"{target}.toml"
        if not path.exists():
            return cls(target, source=str(path))
        data = tomllib.loads(path.read_text())
        entries = []
        for i, raw in enumerate(data.get("deviation", [])):
            missing = {"property", "op", "reason"} - set(raw)
            if missing:
                raise ValueError(f"{path}: deviation #{i + 1} lacks {sorted(missing)}")
            entries.append(
                Deviation(
                    id=raw.get("id", f"#{i + 1}"),
                    properties=_tuple(raw["property"]),
                    ops=_tuple(raw["op"]),
                    scope=dict(raw.get("scope", {})),
                    reason=raw["reason"],
                    skip=bool(raw.get("skip", False)),
                )
            )
        return cls(target, entries, source=str(path))

    def match(self, prop: str, op: str, case: Case, skip_only: bool = False) -> Deviation | None:
        for entry in self.entries:
            if skip_only and not entry.skip:
                continue
            if entry.matches(prop, op, case):
                return entry
        return None

    def hit(self, entry: Deviation) -> None:
        self.hits[entry.id] += 1

    def stale(self, exercised: set[tuple[str, str]]) -> list[Deviation]:
        """Entries never hit although one of their (op, property) pairs ran."""
        out = []
        for e in self.entries:
            ran = any(e.covers(prop, op) for op, prop in exercised)
            if ran and not self.hits[e.id]:
                out.append(e)
        return out


_REGISTRIES: dict[str, Registry] = {}
#: set by the pytest plugin / CLI: an extra registry file for every target
OVERRIDE_PATH: list[str] = []


def registry_for(target) -> Registry:
    name = getattr(target, "name", str(target))
    if name not in _REGISTRIES:
        path = OVERRIDE_PATH[0] if OVERRIDE_PATH else getattr(target, "deviations_file", None)
        _REGISTRIES[name] = Registry.load(name, path)
    return _REGISTRIES[name]
