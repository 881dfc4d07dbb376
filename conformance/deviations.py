"""Known deviations: per-target registry files, scope matching, hit counting, staleness.

A registry is a TOML file (``conformance/targets/deviations/<target>.toml`` for the
built-in targets, or any file given with ``--deviations``)::

    [[deviation]]
    id = "nan-last-index"
    property = ["indices", "vjp"]          # one name or a list; "*" for any
    op = ["max_pool", "adaptive_max_pool"] # one name or a list; "*" for any
    scope = { nan_count_in_a_window = "2+" }
    reason = "PyTorch's kernels select the LAST NaN of a window (val > max || isnan(val))."

An entry with ``skip = true`` keeps the suite from calling the target at all inside
its scope (for a target that crashes or corrupts memory there); such examples count
as hits. ``[[convention]]`` entries document the conventions a target declares (``op``,
``option``, ``value``, ``reason``: the spec option and the value the framework follows;
``source``: where the framework's own documentation or code says it does so -- a
convention nobody documents, or one the framework's own gradient contradicts, is a bug
and belongs in a ``[[deviation]]``).

A failing example is a *known deviation* when an entry's property and op match and
every ``scope`` key matches the example's facts (:data:`~ndpool.conformance.facts.FACTS`:
``dtype``, ``d``, ``layout``, ``batched``, ``ceil_mode``, ``regime`` and computed ones
such as ``nan_count_in_a_window``); a scope value may be a list of accepted values. Only
failures inside the scope are forgiven; everything else still fails. The drawn examples
are kept out of every registered region (see :class:`~.properties.Run`); the pinned ones
(the edge corpus, the breakers) check them, and an entry whose region a pin checked
without a failure is reported as stale; one no pin reached, as not sampled (its
reproducer in ``docs/frameworks/repro`` verifies it on every CI run). A file is
checked when it is loaded: an unknown op, property, field or scope fact is an error, so
a typo never silently disables an entry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ndpool import spec

from .cases import Case
from .facts import FACTS

#: the fields of a ``[[deviation]]`` entry (``id``, ``property``, ``op``, ``reason`` are
#: required) and of a ``[[convention]]`` entry (all required)
DEVIATION_FIELDS = ("id", "property", "op", "scope", "reason", "skip")
CONVENTION_FIELDS = ("id", "op", "option", "value", "reason", "source")


class RegistryError(ValueError):
    """A registry file that cannot be used: missing (when named), not TOML, or an entry
    naming an op, property, field or scope fact that does not exist."""


def accepts(want, have) -> bool:
    """A scope value ``want`` (one value, or a list of accepted values) holds ``have``."""
    return have in (want if isinstance(want, list) else [want])


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

    def matches(self, prop: str, op: str, case: Case, facts: dict | None = None) -> bool:
        """The entry covers ``prop`` on ``op`` and ``case`` lies in its scope (``facts``: the
        case's facts read so far, shared between the entries of one registry)."""
        if not self.covers(prop, op):
            return False
        facts = {} if facts is None else facts
        for key, want in self.scope.items():
            try:
                if key not in facts:
                    facts[key] = FACTS[key](case)
                have = facts[key]
            except (ValueError, TypeError, ArithmeticError):
                if case.meta.get("broken_constraint") is None:
                    raise  # a valid case: a fact that cannot be read is the suite's bug
                return False  # a deliberately broken case: a geometry fact has no answer
            if not accepts(want, have):
                return False
        return True


@dataclass
class Registry:
    target: str
    entries: list[Deviation] = field(default_factory=list)
    hits: Counter = field(default_factory=Counter)
    source: str = ""
    #: drawn examples set aside because they fell in an entry's region (never checked)
    excluded: Counter = field(default_factory=Counter)
    #: pinned examples that checked the target inside an entry's region and conformed
    clean: Counter = field(default_factory=Counter)

    @classmethod
    def load(
        cls,
        target: str,
        path: Path | str | None,
        required: bool = False,
        properties: tuple[str, ...] | None = None,
    ) -> Registry:
        """The registry in ``path`` (``None``: empty). A missing file is an error when
        ``required`` (a file the user named), else an empty registry. Every entry is
        checked: its fields, its ops (``spec.OPS``), properties (``properties``, when
        given) and scope facts (:data:`FACTS`) must exist."""
        if path is None or not Path(path).is_file():
            if required:
                raise RegistryError(f"deviations file {path} does not exist")
            return cls(target, source=str(path or ""))
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RegistryError(f"{path} is not valid TOML: {exc}") from None
        unknown = set(data) - {"deviation", "convention"}
        if unknown:
            raise RegistryError(
                f"{path}: unknown table(s) {sorted(unknown)}; a registry holds [[deviation]] "
                "and [[convention]] entries"
            )
        for i, raw in enumerate(data.get("convention", [])):
            _check_convention(path, i, raw)
        entries = [
            _deviation(path, i, raw, properties) for i, raw in enumerate(data.get("deviation", []))
        ]
        ids = [e.id for e in entries]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise RegistryError(f"{path}: deviation id(s) used twice: {twice}")
        return cls(target, entries, source=str(path))

    def _holding(self, prop: str, op: str, case: Case, skip_only: bool = False):
        """The entries whose scope holds ``case``, in file order (the case's facts read
        once for all of them)."""
        facts: dict = {}
        for entry in self.entries:
            if (entry.skip or not skip_only) and entry.matches(prop, op, case, facts):
                yield entry

    def holding_facts(self, prop: str, op: str, facts: dict) -> list[str]:
        """The ids of the entries whose scope ``facts`` decide and hold (a finding's region
        in a report, where the case itself is gone; an entry that needs a fact ``facts``
        lacks is left out, not guessed)."""
        return [
            e.id
            for e in self.entries
            if e.covers(prop, op)
            and all(k in facts and accepts(w, facts[k]) for k, w in e.scope.items())
        ]

    def match(self, prop: str, op: str, case: Case, skip_only: bool = False) -> Deviation | None:
        return next(self._holding(prop, op, case, skip_only), None)

    def matches(self, prop: str, op: str, case: Case) -> list[str]:
        """The ids of every entry whose scope holds ``case`` (a case can lie in several
        regions: a float16 3-D input shorter than its kernel)."""
        return [e.id for e in self._holding(prop, op, case)]

    def hit(self, entry: Deviation) -> None:
        self.hits[entry.id] += 1

    def stale(self) -> list[Deviation]:
        """Entries whose region a run checked (:attr:`clean`) without a single failure
        there: the target conforms where the entry says it does not. An entry with
        neither hits nor clean checks was *not sampled* (:meth:`not_sampled`)."""
        return [e for e in self.entries if self.clean[e.id] and not self.hits[e.id]]

    def not_sampled(self) -> list[Deviation]:
        """Entries whose region no checked example of the run reached (drawn examples
        never do: they are kept out of registered regions); their reproducers check them."""
        return [e for e in self.entries if not self.clean[e.id] and not self.hits[e.id]]


def _tuple(v) -> tuple[str, ...]:
    return tuple(v) if isinstance(v, list) else (v,)


def _deviation(path: Path, i: int, raw: dict, properties) -> Deviation:
    where = f"{path}: deviation {raw.get('id', f'#{i + 1}')!r}"
    unknown = set(raw) - set(DEVIATION_FIELDS)
    if unknown:
        raise RegistryError(
            f"{where}: unknown field(s) {sorted(unknown)}; known: {DEVIATION_FIELDS}"
        )
    missing = {"id", "property", "op", "reason"} - set(raw)
    if missing:
        raise RegistryError(f"{where} lacks {sorted(missing)}")
    entry = Deviation(
        id=str(raw["id"]),
        properties=_tuple(raw["property"]),
        ops=_tuple(raw["op"]),
        scope=dict(raw.get("scope", {})),
        reason=raw["reason"],
        skip=bool(raw.get("skip", False)),
    )
    bad_ops = [o for o in entry.ops if o != "*" and o not in spec.OPS]
    if bad_ops:
        raise RegistryError(f"{where}: unknown op(s) {bad_ops}; known: {sorted(spec.OPS)}")
    if properties is not None:
        bad = [p for p in entry.properties if p != "*" and p not in properties]
        if bad:
            raise RegistryError(f"{where}: unknown property(ies) {bad}; known: {list(properties)}")
    bad_keys = [k for k in entry.scope if k not in FACTS]
    if bad_keys:
        raise RegistryError(f"{where}: unknown scope fact(s) {bad_keys}; known: {sorted(FACTS)}")
    return entry


def _check_convention(path: Path, i: int, raw: dict) -> None:
    where = f"{path}: convention {raw.get('id', f'#{i + 1}')!r}"
    if set(raw) != set(CONVENTION_FIELDS):
        raise RegistryError(f"{where}: its fields must be {CONVENTION_FIELDS}")
    if raw["op"] not in spec.OPS:
        raise RegistryError(f"{where}: unknown op {raw['op']!r}")
    options = {o.name: o for o in spec.OPS[raw["op"]].conventions}
    if raw["option"] not in options:
        raise RegistryError(
            f"{where}: {raw['op']} has no convention option {raw['option']!r}; "
            f"its conventions: {sorted(options)}"
        )
    if raw["value"] not in (options[raw["option"]].values or ()):
        raise RegistryError(f"{where}: {raw['value']!r} is not a value of {raw['option']}")
