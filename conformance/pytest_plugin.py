"""pytest integration: options, the target fixture, profiles, deviations, the summary matrix.

``pytest --pyargs ndpool.conformance --ndpool-target T`` loads this through the
package's ``conftest.py``. Options::

    --ndpool-target T        ndpool.impl (default), torch, ndpool.spec or module:attribute
    --ndpool-device D        device for torch-based targets (default cpu)
    --ndpool-profile P       quick | ci | thorough (examples per op x property)
    --ndpool-db DIR          Hypothesis example database (failures replay first next time)
    --ndpool-deviations F    a known-deviations TOML file instead of the target's own
    --ndpool-op OP           only these ops (repeatable)
    --ndpool-report F        write the summary as F.md, F.html or F.json

Hypothesis' own ``--hypothesis-seed`` sets the seed; ``-n`` (pytest-xdist) runs in
parallel; ``--junit-xml`` writes JUnit XML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from . import deviations as devs
from .properties import availability
from .reporting import Matrix, write_report
from .runner import PROFILES
from .targets import load_target

SUPPRESS = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
    HealthCheck.function_scoped_fixture,
    HealthCheck.differing_executors,
]


@dataclass
class State:
    target: str = "ndpool.impl"
    device: str = "cpu"
    profile: str = "quick"
    database: str | None = None
    derandomize: bool = False
    ops: list[str] = field(default_factory=list)
    report: str | None = None


STATE = State()


def suite_settings() -> settings:
    """The Hypothesis settings of every suite test (read when the suite is imported)."""
    return settings(
        max_examples=PROFILES[STATE.profile],
        deadline=None,
        suppress_health_check=SUPPRESS,
        database=DirectoryBasedExampleDatabase(STATE.database) if STATE.database else None,
        derandomize=STATE.derandomize,
        print_blob=False,
    )


# -- options -----------------------------------------------------------------------------------
def pytest_addoption(parser):
    group = parser.getgroup("ndpool", "ndpool conformance suite")
    group.addoption("--ndpool-target", default=None, help="target under test")
    group.addoption("--ndpool-device", default="cpu", help="device for torch targets")
    group.addoption("--ndpool-profile", default="quick", choices=sorted(PROFILES))
    group.addoption("--ndpool-db", default=None, help="Hypothesis example database directory")
    group.addoption("--ndpool-deviations", default=None, help="known-deviations TOML file")
    group.addoption("--ndpool-op", action="append", default=[], help="only this op")
    group.addoption("--ndpool-report", default=None, help="summary report (.md/.html/.json)")


def _opt(config, name, default=None):
    try:
        return config.getoption(name)
    except ValueError:
        return default


def pytest_configure(config):
    config.addinivalue_line("markers", "ndpool_property(name): a conformance-suite property")
    target = _opt(config, "--ndpool-target")
    if target:
        STATE.target = target
    STATE.device = _opt(config, "--ndpool-device", "cpu") or "cpu"
    STATE.profile = _opt(config, "--ndpool-profile", STATE.profile) or STATE.profile
    STATE.database = _opt(config, "--ndpool-db", STATE.database)
    STATE.ops = list(_opt(config, "--ndpool-op", []) or [])
    STATE.report = _opt(config, "--ndpool-report")
    dev_file = _opt(config, "--ndpool-deviations")
    if dev_file:
        devs.OVERRIDE_PATH[:] = [dev_file]
    config._ndpool_matrix = Matrix()


def make_target():
    return load_target(STATE.target, device=STATE.device)


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ndpool_target():
    """The target under test (override it in a test module to pin another one)."""
    return make_target()


@pytest.fixture(autouse=True)
def _ndpool_availability(request):
    marker = request.node.get_closest_marker("ndpool_property")
    if marker is None:
        return
    prop = marker.args[0]
    op = request.node.callspec.params.get("op")
    target = request.getfixturevalue("ndpool_target")
    request.node.user_properties.append(
        ("ndpool", json.dumps({"target": target.name, "op": op, "property": prop}))
    )
    blocked = availability(target, op, prop)
    if blocked:
        pytest.skip(f"{blocked[0]}: {blocked[1]}")


def pytest_collection_modifyitems(config, items):
    if not STATE.ops:
        return
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("ndpool_property")
        op = getattr(getattr(item, "callspec", None), "params", {}).get("op")
        (drop if marker is not None and op not in STATE.ops else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# -- known deviations --
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if item.get_closest_marker("ndpool_property") is None:
        return (yield)
    target = item.funcargs.get("ndpool_target")
    registry = devs.registry_for(target)
    before = dict(registry.hits)
    try:
        return (yield)
    finally:
        new = {k: v - before.get(k, 0) for k, v in registry.hits.items() if v > before.get(k, 0)}
        if new:
            item.user_properties.append(("ndpool_hits", json.dumps(new)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "call" and report.passed:
        hits = [json.loads(v) for k, v in item.user_properties if k == "ndpool_hits"]
        if hits:
            ids = sorted({i for h in hits for i in h})
            report.outcome = "skipped"
            report.wasxfail = "known deviation: " + ", ".join(ids)
    return report


def pytest_runtest_logreport(report):
    matrix = getattr(_CONFIG[0], "_ndpool_matrix", None) if _CONFIG else None
    if matrix is not None:
        matrix.add_report(report)


_CONFIG: list = []


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    _CONFIG[:] = [session.config]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    matrix: Matrix | None = getattr(config, "_ndpool_matrix", None)
    if matrix is None or not matrix.cells:
        return
    tr = terminalreporter
    tr.section("ndpool conformance summary")
    for target in matrix.targets():
        registry = devs.registry_for(target)
        registry_hits = matrix.hits(target)
        stale = [
            e
            for e in registry.entries
            if any(e.covers(p, o) for o, p in matrix.exercised(target))
            and not registry_hits.get(e.id)
        ]
        tr.write_line(matrix.render_text(target))
        if registry_hits:
            tr.write_line(
                "known deviations hit: "
                + ", ".join(f"{k} ({v}x)" for k, v in sorted(registry_hits.items()))
            )
        for e in stale:
            tr.write_line(
                f"STALE deviation {e.id!r} in {registry.source}: nothing matched it "
                f"({', '.join(e.properties)} x {', '.join(e.ops)})",
                yellow=True,
            )
        matrix.stale[target] = [e.id for e in stale]
    if STATE.report:
        write_report(matrix, STATE.report, profile=STATE.profile)
        tr.write_line(f"report written to {STATE.report}")
