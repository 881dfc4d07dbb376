"""pytest integration: options, the target and check fixtures, the summary matrix.

``pytest --pyargs ndpool.conformance --ndpool-target T`` runs the suite (the plugin is
registered by the package's ``pytest11`` entry point). Options::

    --ndpool-target T        ndpool.impl (default), torch, ndpool.spec or module:attribute
    --ndpool-device D        device for torch-based targets (default cpu)
    --ndpool-profile P       quick | ci | thorough (examples per op x property)
    --ndpool-seed N          the seed (default: Hypothesis' --hypothesis-seed, else random)
    --ndpool-db DIR          Hypothesis example database (failures replay first next time)
    --ndpool-deviations F    a known-deviations TOML file instead of the target's own
    --ndpool-op OP           only these ops (repeatable)
    --ndpool-property P      only these properties (repeatable)
    --ndpool-report F        write the summary as F.md, F.html or F.json

The suite is one test per (op, property), ``test_property[op-property]``; every
parameter comes from ``spec.OPS`` and the properties, so a registered op is picked up.
A test module may override the ``ndpool_target`` fixture to pin a target, and
``ndpool_seed`` to pin the seed. ``-n`` (pytest-xdist) runs in parallel; ``--junit-xml``
writes JUnit XML.
"""

from __future__ import annotations

import json

import pytest

from ndpool import spec

from .properties import PROPERTIES
from .reporting import Matrix, write_report
from .runner import PROFILES, CheckContext
from .targets import load_target


# -- options -----------------------------------------------------------------------------------
def pytest_addoption(parser):
    group = parser.getgroup("ndpool", "ndpool conformance suite")
    group.addoption("--ndpool-target", default="ndpool.impl", help="target under test")
    group.addoption("--ndpool-device", default="cpu", help="device for torch targets")
    group.addoption("--ndpool-profile", default="quick", choices=sorted(PROFILES))
    group.addoption("--ndpool-seed", default=None, type=int, help="Hypothesis seed")
    group.addoption("--ndpool-db", default=None, help="Hypothesis example database directory")
    group.addoption("--ndpool-deviations", default=None, help="known-deviations TOML file")
    group.addoption("--ndpool-op", action="append", default=[], help="only this op")
    group.addoption("--ndpool-property", action="append", default=[], help="only this property")
    group.addoption("--ndpool-report", default=None, help="summary report (.md/.html/.json)")


def _opt(config, name, default=None):
    try:
        value = config.getoption(name)
    except ValueError:
        return default
    return default if value is None else value


class SuiteReport:
    """The op x property matrix of one session, filled from the test reports (on the
    xdist controller too) and printed at the end."""

    def __init__(self, config):
        self.config = config
        self.matrix = Matrix()

    def pytest_runtest_logreport(self, report):
        self.matrix.add_report(report)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        matrix = self.matrix
        if not matrix.cells:
            return
        tr = terminalreporter
        tr.section("ndpool conformance summary")
        deviations = _opt(config, "--ndpool-deviations")
        for target in matrix.targets():
            tr.write_line(matrix.render_text(target))
            hits = matrix.hits(target)
            if hits:
                tr.write_line(
                    "known deviations hit: "
                    + ", ".join(f"{k} ({v}x)" for k, v in sorted(hits.items()))
                )
            for entry in matrix.stale(target):
                tr.write_line(
                    f"STALE deviation {entry!r} in {deviations or matrix.registry_sources[target]}"
                    ": examples in its region were checked and conformed",
                    yellow=True,
                )
        report = _opt(config, "--ndpool-report")
        if report:
            write_report(matrix, report, profile=_opt(config, "--ndpool-profile", "quick"))
            tr.write_line(f"report written to {report}")


def pytest_configure(config):
    config.addinivalue_line("markers", "ndpool_suite: the conformance suite's property test")
    config.addinivalue_line("markers", "ndpool_ops(*ops): run the suite on these ops only")
    config.addinivalue_line(
        "markers", "ndpool_properties(*names): run the suite's properties of these names only"
    )
    if not config.pluginmanager.has_plugin("ndpool-suite-report"):
        config.pluginmanager.register(SuiteReport(config), "ndpool-suite-report")


def pytest_generate_tests(metafunc):
    """The suite's test runs once per (op, property): every op of ``spec.OPS`` times every
    property, or the selection of ``--ndpool-op`` / ``--ndpool-property`` and of the
    ``ndpool_ops(...)`` / ``ndpool_properties(...)`` markers of a test module."""
    if metafunc.definition.get_closest_marker("ndpool_suite") is None:
        return
    ops = _opt(metafunc.config, "--ndpool-op", []) or list(spec.OPS)
    props = _opt(metafunc.config, "--ndpool-property", []) or list(PROPERTIES)
    for name, chosen in (("ndpool_ops", ops), ("ndpool_properties", props)):
        marker = metafunc.definition.get_closest_marker(name)
        if marker is not None:
            chosen[:] = [v for v in chosen if v in marker.args]
    params = [(op, prop) for op in ops for prop in props]
    metafunc.parametrize(("op", "prop"), params, ids=[f"{o}-{p}" for o, p in params])


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ndpool_target(pytestconfig):
    """The target under test (override it in a test module to pin another one)."""
    return load_target(
        _opt(pytestconfig, "--ndpool-target", "ndpool.impl"),
        device=_opt(pytestconfig, "--ndpool-device", "cpu"),
    )


@pytest.fixture(scope="session")
def ndpool_seed(pytestconfig):
    """The seed of the run (``--ndpool-seed``, else Hypothesis' ``--hypothesis-seed``,
    else ``None``: the check draws one)."""
    value = _opt(pytestconfig, "--ndpool-seed")
    if value is None:
        value = _opt(pytestconfig, "hypothesis_seed")
    return None if value is None else int(value)


@pytest.fixture
def ndpool_check(pytestconfig, ndpool_target, ndpool_seed) -> CheckContext:
    """The check context of one suite test (the target, profile, seed, registry)."""
    return CheckContext(
        ndpool_target,
        profile=_opt(pytestconfig, "--ndpool-profile", "quick"),
        seed=ndpool_seed,
        database=_opt(pytestconfig, "--ndpool-db"),
        deviations=_opt(pytestconfig, "--ndpool-deviations"),
    )


def run_suite_test(ctx: CheckContext, op: str, prop: str, node) -> None:
    """The body of the suite's test: check one property and report it as pytest does
    (pass, fail, skip with the reason, or xfail "known deviation: ...")."""
    node.user_properties.append(
        ("ndpool", json.dumps({"target": ctx.target.name, "op": op, "property": prop}))
    )
    registry = ctx.registry
    node.user_properties.append(
        (
            "ndpool_registry",
            json.dumps({"source": registry.source, "entries": [e.id for e in registry.entries]}),
        )
    )
    outcome = ctx.run(op, prop)
    node.user_properties.append(("ndpool_examples", str(outcome.examples)))
    for name, counts in (
        ("ndpool_hits", outcome.hits),
        ("ndpool_clean", outcome.clean),
        ("ndpool_excluded", outcome.excluded_by),
    ):
        if counts:
            node.user_properties.append((name, json.dumps(counts)))
    if outcome.status in ("not provided", "n/a", "no strategy"):
        pytest.skip(f"{outcome.status}: {outcome.message.removeprefix(outcome.status + ': ')}")
    if outcome.status in ("fail", "error"):
        kind = "" if outcome.status == "fail" else " -- the suite itself failed"
        message = outcome.message
        if node.config.getoption("tbstyle", "auto") in ("line", "no"):
            # --tb=line: what failed, one line per distinct failure, no counterexample
            kinds = [f["kind"] for f in outcome.findings]
            message = "; ".join(kinds) or next(
                (ln for ln in message.splitlines() if ln and not ln.endswith(":")), message
            )
        pytest.fail(f"{op} / {prop} (seed {ctx.seed}){kind}:\n{message}", pytrace=False)
    if outcome.status == "known deviation":
        pytest.xfail("known deviation: " + ", ".join(sorted(outcome.hits)))
