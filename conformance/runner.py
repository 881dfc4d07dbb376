"""Run one property of one op on one target outside pytest (used by the meta-tests and
the kill-rate / quiet-run scripts). ``ndpool check`` and ``pytest --pyargs
ndpool.conformance`` run the same checks as pytest items instead."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from . import deviations as devs
from .properties import PROPERTIES, availability, run_example
from .targets import Target, load_target

SUPPRESS = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
]

#: Hypothesis settings per profile (max_examples per op x property)
PROFILES = {"quick": 12, "ci": 100, "thorough": 1000}


@dataclass
class Outcome:
    op: str
    prop: str
    status: str  # pass | fail | not provided | n/a | no strategy | known deviation
    message: str = ""
    seconds: float = 0.0
    examples: int = 0


def run_property(
    target: Target | str,
    op: str,
    prop: str,
    max_examples: int = 12,
    seed_value: int | None = 0,
    shrink: bool = True,
    registry: devs.Registry | None = None,
) -> Outcome:
    target = load_target(target)
    blocked = availability(target, op, prop)
    if blocked:
        return Outcome(op, prop, blocked[0], blocked[1])
    registry = registry if registry is not None else devs.registry_for(target)
    before = sum(registry.hits.values())
    count = [0]
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=SUPPRESS,
        phases=phases,
        print_blob=False,
    )
    @given(st.data())
    def inner(data):
        count[0] += 1
        run_example(target, op, prop, data, registry)

    if seed_value is not None:
        inner = seed(seed_value)(inner)
    start = time.perf_counter()
    try:
        inner()
    except Exception as exc:  # a failure, or a crash in the target or the suite: report it
        return Outcome(op, prop, "fail", describe(exc), time.perf_counter() - start, count[0])
    status = "known deviation" if sum(registry.hits.values()) > before else "pass"
    return Outcome(op, prop, status, "", time.perf_counter() - start, count[0])


def describe(exc: BaseException) -> str:
    """The message of a failure; Hypothesis' groups of distinct failures one by one."""
    group = getattr(exc, "exceptions", None)  # an ExceptionGroup (Python >= 3.11)
    if isinstance(group, (list, tuple)):
        parts = [describe(e) for e in group]
        return f"{len(parts)} distinct failures:\n" + "\n\n".join(parts)
    if isinstance(exc, AssertionError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def run_all(target, ops=None, props=None, max_examples: int = 12, seed_value: int | None = 0):
    from ndpool import spec

    target = load_target(target)
    return [
        run_property(target, op, prop, max_examples, seed_value)
        for op in (ops or list(spec.OPS))
        for prop in (props or list(PROPERTIES))
    ]
