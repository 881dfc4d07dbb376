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
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Unsatisfiable

from ndpool import spec

from . import corpus
from .deviations import Registry
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


@dataclass
class CheckContext:
    """The state of one check of one target (see the module doc).

    ``profile`` sets the examples per op x property (:data:`PROFILES`; ``max_examples``
    overrides it); ``seed`` makes the run replayable (``None``: a random seed is drawn
    and kept here, so a failure can name it); ``database``: a Hypothesis example database
    directory (failures found there replay first); ``deviations``: a registry file the
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

    def settings(self) -> settings:
        phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
        phases += [Phase.shrink] if self.shrink else []
        return settings(
            max_examples=self.examples,
            deadline=None,
            database=DirectoryBasedExampleDatabase(self.database) if self.database else None,
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
        status, failure = self._example(op, prop, count)
        if failure:
            return Outcome(op, prop, status, failure, time.perf_counter() - start, count[0])
        hits = {k: v - before.get(k, 0) for k, v in self.registry.hits.items()}
        hits = {k: v for k, v in hits.items() if v > 0}
        status = "known deviation" if hits else "pass"
        return Outcome(op, prop, status, "", time.perf_counter() - start, count[0], hits)

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
            edges = corpus.edges_for(spec.OPS[op].windows.name)
            return [(f"edge corpus, {e.name} ({e.what})", {"edge": e}) for e in edges]
        return []

    def _example(self, op: str, prop: str, count: list, pin: dict | None = None):
        """Run the drawn examples (or one example of a ``pin``: a corpus edge, a breaker):
        ``("fail", message)``, ``("error", message)`` where the suite itself failed
        (:class:`~.properties.SuiteError`), or ``("pass", "")`` (a pin that does not apply
        counts as passed)."""
        run = Run(self.target, prop, self.registry, observer=self.observer, **(pin or {}))

        def inner(data):
            count[0] += 1
            run_example(run, op, data)

        # one database key per target, op and property (the function is the same for all)
        inner._hypothesis_internal_add_digest = f"{self.target.name}/{op}/{prop}".encode()
        chosen = self.settings() if pin is None else self.pin_settings()
        test = seed(self.seed)(chosen(given(st.data())(inner)))
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
