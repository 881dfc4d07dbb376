"""A check of one target: its explicit run state, and the one place Hypothesis is driven.

:class:`CheckContext` holds everything a run reads -- the target, the profile and its
example budget, the seed, the example database, the known-deviations registry -- and
:meth:`CheckContext.run` checks one property of one op with it, returning an
:class:`Outcome`. ``ndpool check``, the pytest plugin, the kill-rate and quiet-run tools
and the meta-tests all go through it; nothing is kept in module globals.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, reject, seed, settings
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase
from hypothesis.errors import Unsatisfiable, UnsatisfiedAssumption
from hypothesis.internal.reflection import function_digest

from ndpool import spec

from . import corpus
from .deviations import Registry
from .discovery import Finding, summary
from .example_db import open_database, stored
from .properties import (
    PROPERTIES,
    PropertyFailure,
    Run,
    SetAside,
    SuiteError,
    availability,
    invalid_breakers,
    run_example,
)
from .targets import Target, load_target

SUPPRESS = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
    HealthCheck.function_scoped_fixture,
    HealthCheck.differing_executors,
]

#: Hypothesis settings per profile (max_examples per op x property)
PROFILES = {"quick": 12, "ci": 100, "thorough": 1000}
#: the profiles where distinct-failure discovery is on unless ``discover`` says otherwise
DISCOVER_BY_DEFAULT = ("thorough",)
#: the profiles whose edge corpus pins each edge in every memory layout the target declares
#: (:func:`.corpus.per_layout`; the others draw one layout per pin) and, in 2-D and 3-D,
#: along the first spatial axis and every axis as well as the last (:func:`.corpus.per_axis`)
PIN_EVERY_PLACEMENT = ("thorough",)
#: how many times a pin draws its free parts anew when its example fails as a failure found
#: already (a discovery run), before it counts as checked: a few other dtypes and layouts,
#: not Hypothesis' limit of 1000 calls for a run whose every example is set aside
PIN_REDRAWS = 8
#: the most distinct failures one cell's discovery lists before it stops searching
MAX_FINDINGS = 24
#: how a target's convention options are set: ``declared`` (the values the adapter
#: declares the framework follows) or ``spec`` (the spec's defaults: each declared
#: convention then shows up as a difference)
CONVENTIONS = ("declared", "spec")


@dataclass
class Tally:
    """The calls of one cell's drawn examples: all of them (shrinking included), those
    the property found inapplicable (an ``assume`` that failed: no example), those set
    aside inside registered regions, those set aside as repeats of a found failure, and
    those that checked the target and passed."""

    calls: int = 0
    rejected: int = 0
    excluded: int = 0
    repeats: int = 0
    passed: int = 0

    @property
    def examples(self) -> int:
        """The calls that were examples: every call but the inapplicable ones."""
        return self.calls - self.rejected


@dataclass
class Outcome:
    op: str
    prop: str
    status: str  # pass | fail | error | not provided | n/a | no strategy | known deviation
    message: str = ""
    seconds: float = 0.0
    examples: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    #: a failure of the drawn examples: the example it was found at (1: the first, which
    #: is a stored one when ``replayed`` > 0: Hypothesis replays the database first)
    found_at: int | None = None
    #: the examples the example database held for this cell when the run started
    replayed: int = 0
    #: drawn examples set aside because they fell in a registered region (not counted as
    #: checked; the strategies keep most of them from being drawn at all)
    excluded: int = 0
    #: the distinct failures found (discovery), each a :meth:`~.discovery.Finding.to_json`
    findings: list = field(default_factory=list)
    #: per registry entry: pinned examples that checked its region and conformed, drawn
    #: examples set aside in its region
    clean: dict[str, int] = field(default_factory=dict)
    excluded_by: dict[str, int] = field(default_factory=dict)

    @property
    def checked(self) -> int:
        """Examples that checked the target outside every registered region."""
        return self.examples - self.excluded


@dataclass
class CheckContext:
    """The state of one check of one target (see the module doc).

    ``profile`` sets the examples per op x property (:data:`PROFILES`; ``max_examples``
    overrides it); ``seed`` makes the run replayable (``None``: a random seed is drawn
    and kept here, so a failure can name it); ``database``: a Hypothesis example database,
    a directory or ``redis://host:port`` (:mod:`.example_db`; the examples stored there
    replay first); ``deviations``: a registry file the
    user named (checked to exist), else the target's own (``target.deviations_file``);
    ``corpus``: check the pins (:meth:`pins`: the edge corpus of :mod:`.corpus`, every
    ``invalid_config`` breaker) before the drawn examples. ``discover``: after a failure,
    record it (:class:`~.discovery.Finding`), set its repeats aside and search on with
    the rest of the budget, so that one cell lists its distinct failures (``None``: on
    at the :data:`DISCOVER_BY_DEFAULT` profiles). ``conventions``: ``"spec"`` runs the
    target with the spec's default for every convention option (:data:`CONVENTIONS`).
    """

    target: Target
    profile: str = "quick"
    seed: int | None = None
    database: str | None = None
    deviations: str | Path | None = None
    max_examples: int | None = None
    shrink: bool = True
    corpus: bool = True
    #: told ``(case, what, args)`` before every call of the target (see ``Run.observer``)
    observer: Callable | None = None
    #: called before every example, the target called or not (an example set aside in a
    #: registered region calls nothing): a run that only sets examples aside is not hung
    heartbeat: Callable[[], None] | None = None
    discover: bool | None = None
    conventions: str = "declared"
    #: run without the registry's deviations (its ``skip`` entries only, which keep a
    #: crash from the process), and name on each distinct failure the entry of the
    #: target's own registry that covers its minimal example (``None``: a new one)
    unregistered: bool = False
    registry: Registry = field(init=False)
    labels: Registry | None = field(init=False, default=None)
    _db: ExampleDatabase | None = field(init=False, default=None, repr=False)

    def __post_init__(self):
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; known: {sorted(PROFILES)}")
        if self.seed is None:
            self.seed = random.randrange(2**32)
        if self.discover is None:
            self.discover = self.profile in DISCOVER_BY_DEFAULT
        if self.conventions not in CONVENTIONS:
            raise ValueError(f"conventions must be one of {CONVENTIONS}, not {self.conventions!r}")
        self.target.conventions = self.conventions
        named = self.deviations is not None
        self.registry = Registry.load(
            self.target.name,
            self.deviations if named else self.target.deviations_file,
            required=named,
            properties=tuple(PROPERTIES),
        )
        if self.unregistered:  # its skip entries stay: they keep a crash from the process
            guards = [e for e in self.registry.entries if e.skip]
            self.labels, self.registry = self.registry, Registry(self.target.name, guards)

    @property
    def examples(self) -> int:
        return self.max_examples if self.max_examples is not None else PROFILES[self.profile]

    def example_database(self) -> ExampleDatabase | None:
        """The example database of ``database`` (opened once), or ``None``."""
        if self._db is None and self.database:
            self._db = open_database(self.database)
        return self._db

    def settings(self) -> settings:
        phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
        phases += [Phase.shrink] if self.shrink else []
        return settings(
            max_examples=self.examples,
            deadline=None,
            database=self.example_database(),
            suppress_health_check=SUPPRESS,
            phases=phases,
            print_blob=False,
            report_multiple_bugs=True,
        )

    def run(self, op: str, prop: str, crashed: tuple = ()) -> Outcome:
        """Check ``prop`` on ``op`` with this context's budget, seed and registry: its pins
        first (:meth:`pins`: the edge corpus, every breaker), then the drawn examples
        (with discovery, until the budget is spent or :data:`MAX_FINDINGS` are found).
        ``crashed``: ``(message, case)`` of the examples on which the target crashed (or
        hung) the processes that ran this cell before (``ndpool check``'s workers); each
        is a finding whose region the run sets aside before the target is called."""
        blocked = availability(self.target, op, prop)
        if blocked:
            return Outcome(op, prop, blocked[0], blocked[1])
        counters = (self.registry.hits, self.registry.clean, self.registry.excluded)
        before = [dict(c) for c in counters]
        tally = Tally()
        start = time.perf_counter()
        findings = [self._crash(op, prop, message, case) for message, case in crashed]
        for label, pin in self.pins(op, prop):
            # with discovery, a pin that found a failure runs again with it set aside (its
            # free parts drawn anew), so that a failure on one draw (a dtype, a layout)
            # does not leave the edge itself unchecked
            for _ in range(MAX_FINDINGS):
                status, failure, exc = self._example(op, prop, tally, pin, findings=findings)
                if not failure:
                    break
                new = self._findings(op, prop, exc) if self.discover and status == "fail" else []
                if not new:
                    message = f"{label}:\n{failure}"
                    seconds = time.perf_counter() - start
                    return Outcome(op, prop, status, message, seconds, tally.examples)
                for finding in new:
                    finding.message = f"{label}:\n{finding.message}"
                findings += new
        db = self.example_database()
        replayed = stored(db, self.database_key(op, prop)) if db is not None else 0
        pinned, first, passed_pins = tally.examples, [None], tally.passed
        status, failure = "pass", ""
        # a cell an entry covers whole (no scope) has no example to draw outside it
        whole = any(e.covers(prop, op) and not e.scope for e in self.registry.entries)
        if prop == "invalid_config":  # or one whose every breaker lies in a region
            whole = whole or not Run(self.target, prop, self.registry).breakers(op)
        for attempt in range(0 if whole else MAX_FINDINGS):
            budget = self.examples - (tally.passed - passed_pins if attempt else 0)
            if attempt and budget <= 0:
                break
            status, failure, exc = self._example(
                op, prop, tally, first=first, findings=findings, budget=budget, attempt=attempt
            )
            if not failure:
                break
            new = self._findings(op, prop, exc) if self.discover and status == "fail" else []
            if not new:
                break
            findings += new
            status, failure = "pass", ""
        hits, clean, excluded_by = (
            {k: v - was.get(k, 0) for k, v in c.items() if v > was.get(k, 0)}
            for c, was in zip(counters, before)
        )
        outcome = Outcome(
            op,
            prop,
            "pass",
            seconds=time.perf_counter() - start,
            examples=tally.examples,
            replayed=replayed,
            excluded=sum(excluded_by.values()),
            clean=clean,
            excluded_by=excluded_by,
            found_at=None if first[0] is None else first[0] - pinned,
        )
        if findings:
            message = findings[0].message if len(findings) == 1 else summary(findings)
            if failure:  # the search ended at a failure it could not tell apart
                message += "\n\nand then:\n" + failure
            # a suite error after the findings still reads as an error: it needs a look
            outcome.status = status if failure and status == "error" else "fail"
            outcome.message = message
            outcome.findings = [f.to_json() for f in findings]
        elif failure:
            outcome.status, outcome.message = status, failure
        else:
            outcome.status, outcome.hits = ("known deviation" if hits else "pass"), hits
            outcome.found_at = None
        return outcome

    def _crash(self, op: str, prop: str, message: str, case) -> Finding:
        """The finding of a crash (or a hang) on ``case``: its region is the case's facts
        (a raise's message names what failed; a crash's names no more than the signal)."""
        found = Finding.of(message, case)
        if not found.region and found.seen:
            found.region, found.seen = found.seen, {}
        found.crash = True
        if self.labels is not None and case is not None:
            found.entry = " or ".join(self.labels.matches(prop, op, case)) or None
        return found

    def _findings(self, op: str, prop: str, exc: BaseException) -> list[Finding]:
        """The distinct failures in ``exc`` (a property failure, or Hypothesis' group of
        several), each with its case's region (and, ``unregistered``, the registry entry
        that covers it); none where something else failed (a crash of the suite, a flaky
        example): discovery cannot tell those apart and stops."""
        group = getattr(exc, "exceptions", None)
        failures = list(group) if isinstance(group, (list, tuple)) else [exc]
        if not all(isinstance(f, PropertyFailure) for f in failures):
            return []
        found = [Finding.of(str(f), f.case) for f in failures]
        if self.labels is not None:
            for finding, f in zip(found, failures):
                ids = self.labels.matches(prop, op, f.case) if f.case is not None else []
                finding.entry = " or ".join(ids) or None
        return found

    def database_key(self, op: str, prop: str) -> bytes:
        """The example database's key of this target's ``op`` x ``prop`` cell: the key
        under which Hypothesis stores its failures and replays them (``ndpool fuzz``
        stores what HypoFuzz finds under the same key)."""
        return function_digest(self._drawn(None, op, prop, Tally(), [None]))

    def _drawn(self, run: Run | None, op: str, prop: str, tally: Tally, first: list):
        """The function Hypothesis runs for each example of a cell: it tallies the calls
        (:class:`Tally`), notes in ``first`` the call that failed first, and discards an
        example set aside (a registered region, a found failure's repeat) so that it does
        not count towards the budget."""

        pinned = run is not None and run.pinned
        repeats = [0]  # a pin's examples set aside as a found failure's repeats

        def inner(data):
            if self.heartbeat is not None:
                self.heartbeat()
            # Hypothesis' first example is the simplest draw of every free part (the first
            # dtype, layout and parameter value, the same for every pin and seed): a pin
            # passes it over, and its one example draws them from the seed
            if pinned and data.draw(st.integers(0, 2**16 - 1), label="pin's draw") == 0:
                reject()
            tally.calls += 1
            try:
                run_example(run, op, data)
            except SetAside as aside:
                if aside.entry is not None:
                    run.registry.excluded[aside.entry.id] += 1
                    tally.excluded += 1
                else:
                    aside.finding.absorbed += 1
                    tally.repeats += 1
                    repeats[0] += 1
                    if pinned and repeats[0] >= PIN_REDRAWS:  # else up to Hypothesis'
                        raise corpus.NotApplicable("found already") from None  # 1000 calls
                reject()
            except corpus.Redraw:
                tally.rejected += 1
                reject()
            except (corpus.NotApplicable, UnsatisfiedAssumption):
                tally.rejected += 1
                raise
            except Exception:
                if first[0] is None:
                    first[0] = tally.examples
                raise
            tally.passed += 1

        # one database key per target, op and property (the function is the same for all)
        inner._hypothesis_internal_add_digest = f"{self.target.name}/{op}/{prop}".encode()
        return inner

    def pins(self, op: str, prop: str) -> list[tuple[str, dict]]:
        """What every run checks before its drawn examples (``corpus``): the edge corpus
        for the properties that take it (each edge in every declared layout, and along
        the first and every axis too, at the :data:`PIN_EVERY_PLACEMENT` profiles),
        every breaker of ``invalid_config`` once (called eagerly; the drawn examples draw
        the call mode); ``(label, Run fields)``."""
        if not self.corpus:
            return []
        if prop == "invalid_config":
            return [
                (f"breaker: {b.what}", {"breaker": b}) for b in invalid_breakers(op, self.target)
            ]
        if prop in corpus.CORPUS_PROPERTIES:
            caps = self.target.capabilities(op)
            every = self.profile in PIN_EVERY_PLACEMENT
            edges = [
                pinned
                for e in corpus.edges_for(spec.OPS[op].windows.name)
                for in_rank in corpus.per_rank(e, caps.ranks)
                for on_axis in (corpus.per_axis(in_rank) if every else [in_rank])
                for in_dtype in corpus.per_dtype(on_axis, caps.dtypes)
                for pinned in (corpus.per_layout(in_dtype, caps.layouts) if every else [in_dtype])
            ]
            return [
                (
                    f"edge corpus, {e.name}{f' in {e.rank}-D' if e.rank else ''}"
                    f"{corpus.AXIS_LABELS.get(e.axis, '')}"
                    f"{f' in {e.dtype}' if e.dtype else ''}"
                    f"{f', {e.layout}' if e.layout else ''} ({e.what})",
                    {"edge": e},
                )
                for e in edges
            ]
        return []

    def _example(
        self,
        op: str,
        prop: str,
        tally: Tally,
        pin: dict | None = None,
        first: list | None = None,
        findings: list | None = None,
        budget: int | None = None,
        attempt: int = 0,
    ):
        """Run the drawn examples (``budget`` of them; with ``findings``, the failures found
        so far set aside) or one example of a ``pin`` (a corpus edge, a breaker):
        ``(status, message, exception)`` with status ``"fail"``, ``"error"`` where the
        suite itself failed (:class:`~.properties.SuiteError`), or ``"pass"`` (a pin that
        does not apply counts as passed). ``attempt``: the how-many-th search of the cell
        (each later one draws from a seed of its own)."""
        run = Run(
            self.target,
            prop,
            self.registry,
            observer=self.observer,
            findings=findings if findings is not None else [],
            **(pin or {}),
        )
        inner = self._drawn(run, op, prop, tally, first if first is not None else [None])
        chosen = self.settings() if pin is None else self.pin_settings()
        if budget is not None:
            chosen = settings(chosen, max_examples=max(budget, 1))
        # the settings go on after the seed: @seed also sets database=None (Hypothesis
        # keeps a seeded run out of the database), and the example database must replay
        # and store whatever the seed
        test = chosen(seed(self.seed + attempt)(given(st.data())(inner)))
        try:
            test()
        except (corpus.NotApplicable, Unsatisfiable):  # nothing applied (a pin that does
            pass  # not fit is skipped): its calls were tallied as rejected
        except SuiteError as exc:
            return "error", describe(exc), exc
        except Exception as exc:  # a failure, or a crash in the target or the suite
            return "fail", describe(exc), exc
        return "pass", "", None

    def pin_settings(self) -> settings:
        """One example per pin: generated (its free parts drawn from the seed, see
        :meth:`_drawn`), never shrunk or stored (the pin itself is the minimal case)."""
        return settings(
            max_examples=1,
            deadline=None,
            database=None,
            suppress_health_check=SUPPRESS,
            phases=[Phase.generate],
            print_blob=False,
        )


def describe(exc: BaseException) -> str:
    """The message of a failure; Hypothesis' groups of distinct failures one by one."""
    group = getattr(exc, "exceptions", None)  # an ExceptionGroup (Python >= 3.11)
    if isinstance(group, (list, tuple)):
        parts = [describe(e) for e in group]
        return f"{len(parts)} distinct failures:\n" + "\n\n".join(parts)
    if isinstance(exc, AssertionError):
        return str(exc)
    # not a property failure: an error in the target or the suite, with where it happened
    trace = "".join(traceback.format_exception(exc, limit=-6))
    return f"{type(exc).__name__}: {exc}\n{trace}"


def run_property(
    target: Target | str,
    op: str,
    prop: str,
    max_examples: int = 12,
    seed_value: int | None = 0,
    shrink: bool = True,
    deviations: str | Path | None = None,
) -> Outcome:
    """Check one property of one op on ``target`` (a :class:`CheckContext` of its own)."""
    ctx = CheckContext(
        load_target(target),
        seed=seed_value,
        max_examples=max_examples,
        shrink=shrink,
        deviations=deviations,
    )
    return ctx.run(op, prop)
