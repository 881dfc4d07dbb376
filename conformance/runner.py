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

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase
from hypothesis.errors import Unsatisfiable, UnsatisfiedAssumption
from hypothesis.internal.reflection import function_digest

from ndpool import spec

from . import corpus
from .deviations import Registry
from .example_db import open_database, stored
from .properties import (
    PROPERTIES,
    Run,
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
    ``invalid_config`` breaker) before the drawn examples.
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
    registry: Registry = field(init=False)
    _db: ExampleDatabase | None = field(init=False, default=None, repr=False)

    def __post_init__(self):
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; known: {sorted(PROFILES)}")
        if self.seed is None:
            self.seed = random.randrange(2**32)
        named = self.deviations is not None
        self.registry = Registry.load(
            self.target.name,
            self.deviations if named else self.target.deviations_file,
            required=named,
            properties=tuple(PROPERTIES),
        )

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

    def run(self, op: str, prop: str) -> Outcome:
        """Check ``prop`` on ``op`` with this context's budget, seed and registry: its pins
        first (:meth:`pins`: the edge corpus, every breaker), then the drawn examples."""
        blocked = availability(self.target, op, prop)
        if blocked:
            return Outcome(op, prop, blocked[0], blocked[1])
        before = dict(self.registry.hits)
        count = [0]
        start = time.perf_counter()
        for label, pin in self.pins(op, prop):
            status, failure = self._example(op, prop, count, pin)
            if failure:
                message = f"{label}:\n{failure}"
                return Outcome(op, prop, status, message, time.perf_counter() - start, count[0])
        db = self.example_database()
        replayed = stored(db, self.database_key(op, prop)) if db is not None else 0
        pinned, first = count[0], [None]
        status, failure = self._example(op, prop, count, first=first)
        if failure:
            found = None if first[0] is None else first[0] - pinned
            seconds = time.perf_counter() - start
            return Outcome(op, prop, status, failure, seconds, count[0], {}, found, replayed)
        hits = {k: v - before.get(k, 0) for k, v in self.registry.hits.items()}
        hits = {k: v for k, v in hits.items() if v > 0}
        status = "known deviation" if hits else "pass"
        seconds = time.perf_counter() - start
        return Outcome(op, prop, status, "", seconds, count[0], hits, replayed=replayed)

    def database_key(self, op: str, prop: str) -> bytes:
        """The example database's key of this target's ``op`` x ``prop`` cell: the key
        under which Hypothesis stores its failures and replays them (``ndpool fuzz``
        stores what HypoFuzz finds under the same key)."""
        return function_digest(self._drawn(None, op, prop, [0], [None]))

    def _drawn(self, run: Run | None, op: str, prop: str, count: list, first: list):
        """The function Hypothesis runs for each example of a cell (it counts the calls,
        and notes in ``first`` the call that failed first)."""

        def inner(data):
            count[0] += 1
            try:
                run_example(run, op, data)
            except (corpus.NotApplicable, UnsatisfiedAssumption):
                raise
            except Exception:
                if first[0] is None:
                    first[0] = count[0]
                raise

        # one database key per target, op and property (the function is the same for all)
        inner._hypothesis_internal_add_digest = f"{self.target.name}/{op}/{prop}".encode()
        return inner

    def pins(self, op: str, prop: str) -> list[tuple[str, dict]]:
        """What every run checks before its drawn examples (``corpus``): the edge corpus
        for the properties that take it, every breaker of ``invalid_config`` once
        (called eagerly; the drawn examples draw the call mode); ``(label, Run fields)``."""
        if not self.corpus:
            return []
        if prop == "invalid_config":
            return [
                (f"breaker: {b.what}", {"breaker": b}) for b in invalid_breakers(op, self.target)
            ]
        if prop in corpus.CORPUS_PROPERTIES:
            dtypes = self.target.capabilities(op).dtypes
            edges = [
                pinned
                for e in corpus.edges_for(spec.OPS[op].windows.name)
                for pinned in corpus.per_dtype(e, dtypes)
            ]
            return [
                (
                    f"edge corpus, {e.name}{f' in {e.dtype}' if e.dtype else ''} ({e.what})",
                    {"edge": e},
                )
                for e in edges
            ]
        return []

    def _example(
        self, op: str, prop: str, count: list, pin: dict | None = None, first: list | None = None
    ):
        """Run the drawn examples (or one example of a ``pin``: a corpus edge, a breaker):
        ``("fail", message)``, ``("error", message)`` where the suite itself failed
        (:class:`~.properties.SuiteError`), or ``("pass", "")`` (a pin that does not apply
        counts as passed)."""
        run = Run(self.target, prop, self.registry, observer=self.observer, **(pin or {}))
        inner = self._drawn(run, op, prop, count, first if first is not None else [None])
        chosen = self.settings() if pin is None else self.pin_settings()
        # the settings go on after the seed: @seed also sets database=None (Hypothesis
        # keeps a seeded run out of the database), and the example database must replay
        # and store whatever the seed
        test = chosen(seed(self.seed)(given(st.data())(inner)))
        try:
            test()
        except (corpus.NotApplicable, Unsatisfiable):  # the pin does not fit: skipped
            count[0] -= 1
        except SuiteError as exc:
            return "error", describe(exc)
        except Exception as exc:  # a failure, or a crash in the target or the suite
            return "fail", describe(exc)
        return "pass", ""

    def pin_settings(self) -> settings:
        """One example per pin: generated (its free parts drawn), never shrunk or stored
        (the pin itself is the minimal case)."""
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
