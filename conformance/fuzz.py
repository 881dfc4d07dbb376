"""``ndpool fuzz``: the suite's properties under HypoFuzz, writing to a shared example
database.

HypoFuzz (``hypothesis fuzz``) is a coverage-guided fuzzer for Hypothesis tests: it runs
until it is stopped, spreads its effort over the tests by how fast each finds new
behaviour, and serves a dashboard. ``ndpool fuzz`` validates the set-up as ``ndpool
check`` does, then runs ``hypothesis fuzz`` in a process group of its own on the tests of
:mod:`.fuzz_suite` (one per op x property cell the target can run), with the plugin of
:mod:`.fuzz_plugin`, which stores what HypoFuzz finds under the key ``ndpool check``
replays (:meth:`~ndpool.conformance.runner.CheckContext.database_key`).

While it runs it prints a progress line (the inputs HypoFuzz last reported, the cells
with a failure); it stops after ``--seconds``, once every cell has a new failure, or on
Ctrl-C, and then prints, for every cell, the inputs and seconds HypoFuzz reported and the
failures stored (each replayed once through ``ndpool check``'s own runner, so the
message is the one a check prints). Several machines fuzzing with one ``--db
redis://...`` form one campaign (docs/guides/run-a-campaign.md).
"""

from __future__ import annotations

import collections
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from .example_db import open_database
from .gate import (
    EXIT_CONFORMANT,
    EXIT_NOT_CONFORMANT,
    EXIT_NOTHING_CHECKED,
    EXIT_SETUP,
    EXIT_SUITE_ERROR,
    GateConfig,
    SetupError,
    runnable,
    validate,
)
from .runner import CheckContext

#: the database ``ndpool fuzz`` writes to unless ``--db`` says
DEFAULT_DB = ".ndpool-db"

#: seconds between two looks at the database for new failures
POLL_EVERY = 2.0

#: what to install for ``ndpool fuzz``
HYPOFUZZ_INSTALL = (
    "pip install hypofuzz (or, in a checkout of ndpool, pip install -e '.[campaign]')"
)

#: the exit statuses of ``ndpool fuzz`` (the gate's codes, with a fuzzing run's meaning)
EXIT_CODES = {
    EXIT_CONFORMANT: "no failure stored for the fuzzed cells when the run stopped",
    EXIT_NOT_CONFORMANT: "the database holds a failure of a fuzzed cell (found by this run or "
    "an earlier one): the next `ndpool check --db` of it replays it first",
    EXIT_SETUP: "set-up error (as for ndpool check; also: HypoFuzz or redis not installed, "
    "a Redis server that does not answer); nothing was run",
    EXIT_NOTHING_CHECKED: "nothing to fuzz: the target provides none of the selected cells",
    EXIT_SUITE_ERROR: "HypoFuzz could not run a cell's test, or stopped by itself",
}


@dataclass
class FuzzConfig:
    """What ``ndpool fuzz`` runs (its command-line options)."""

    target: str = "ndpool.impl"
    device: str = "cpu"
    ops: list[str] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)
    deviations: str | None = None
    db: str = DEFAULT_DB
    #: stop after this many seconds (``None``: when stopped, or every cell has failed)
    seconds: float | None = None
    jobs: int = 1
    dashboard: bool = True
    host: str = "localhost"
    port: int = 9999
    #: seconds between progress lines
    progress: float = 30.0
    verbose: bool = False

    def gate_config(self) -> GateConfig:
        return GateConfig(
            target=self.target,
            device=self.device,
            ops=self.ops,
            properties=self.properties,
            deviations=self.deviations,
            db=self.db,
            jobs=self.jobs,
        )

    def pytest_args(self) -> list[str]:
        """The pytest arguments HypoFuzz collects the fuzz tests with."""
        args = ["-p", "ndpool.conformance.fuzz_plugin", "-p", "no:cacheprovider"]
        args += ["--pyargs", "ndpool.conformance.fuzz_suite"]
        args += ["--ndpool-target", self.target, "--ndpool-db", self.db]
        args += ["--ndpool-device", self.device]
        if self.deviations:
            args += ["--ndpool-deviations", self.deviations]
        for op in self.ops:
            args += ["--ndpool-op", op]
        for prop in self.properties:
            args += ["--ndpool-property", prop]
        return args

    def command(self) -> list[str]:
        """The ``hypothesis fuzz`` command line (run with this Python)."""
        cli = "import hypofuzz.entrypoint; from hypothesis.extra.cli import main; main()"
        cmd = [sys.executable, "-c", cli, "fuzz", "-n", str(self.jobs)]
        if self.dashboard:
            cmd += ["--host", self.host, "--port", str(self.port)]
        else:
            cmd.append("--no-dashboard")
        return [*cmd, "--", *self.pytest_args()]


@dataclass
class CellState:
    """What the database says about one fuzzed cell."""

    key: bytes
    failures: set[bytes] = field(default_factory=set)
    inputs: int = 0
    seconds: float = 0.0
    fatal: str = ""


class Campaign:
    """The database's view of the fuzzed cells: stored failures, HypoFuzz's reports."""

    def __init__(self, cfg: FuzzConfig, target, cells: list[tuple[str, str]]):
        ctx = CheckContext(target, seed=0, deviations=cfg.deviations)
        self.keys = {cell: ctx.database_key(*cell) for cell in cells}
        self.db = open_database(cfg.db)
        self.start = self.read()

    def read(self, reports: bool = True) -> dict[tuple[str, str], CellState]:
        """Every cell's stored failures, and (``reports``) what HypoFuzz reported."""
        return {cell: self._cell(key, reports) for cell, key in self.keys.items()}

    def _cell(self, key: bytes, reports: bool) -> CellState:
        state = CellState(key)
        state.failures = set(self.db.fetch(key)) | set(self.db.fetch(key + b".secondary"))
        if not reports:
            return state
        try:  # HypoFuzz's own records: one report stream per worker, the latest counts
            from hypofuzz.database import HypofuzzDatabase

            hdb = HypofuzzDatabase(self.db)
            latest = {}
            for report in hdb.reports.fetch(key):
                seen = latest.get(report.worker_uuid)
                if seen is None or report.elapsed_time > seen.elapsed_time:
                    latest[report.worker_uuid] = report
            state.inputs = sum(sum(r.status_counts.values()) for r in latest.values())
            state.seconds = sum(r.elapsed_time for r in latest.values())
            fatal = hdb.fatal_failures.fetch(key)
            state.fatal = fatal.traceback if fatal is not None else ""
        except Exception:  # a HypoFuzz whose records read otherwise: counts unknown
            pass
        return state

    def new_failures(self, now: dict[tuple[str, str], CellState]) -> dict:
        """``{cell: the failures stored since the run started}``."""
        return {c: s.failures - self.start[c].failures for c, s in now.items()}

    def delta(self, now: dict[tuple[str, str], CellState]) -> dict[tuple[str, str], tuple]:
        """``{cell: (inputs, seconds)}`` reported since the run started."""
        return {
            c: (s.inputs - self.start[c].inputs, s.seconds - self.start[c].seconds)
            for c, s in now.items()
        }


def _stop(process: subprocess.Popen) -> None:
    """Stop HypoFuzz's process group: Ctrl-C, then SIGTERM, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, 15), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    try:  # its workers, should any outlive the hub
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def fuzz(cfg: FuzzConfig, out=print) -> int:
    """Run the campaign; return the exit status (:data:`EXIT_CODES`)."""
    gate_cfg = cfg.gate_config()
    try:
        if cfg.seconds is not None and cfg.seconds <= 0:
            raise SetupError(f"--seconds must be positive, not {cfg.seconds:g}")
        target = validate(gate_cfg)
        if importlib.util.find_spec("hypofuzz") is None:
            raise SetupError(f"ndpool fuzz needs HypoFuzz: {HYPOFUZZ_INSTALL}")
    except SetupError as exc:
        out(f"ndpool fuzz: set-up error: {exc}")
        return EXIT_SETUP
    cells, blocked = runnable(target, gate_cfg.cells())
    if not cells:
        reasons = sorted({reason for _, reason in blocked.values()})
        out(
            f"ndpool fuzz: nothing to fuzz: target {target.name!r} provides none of the "
            f"selected cells ({'; '.join(reasons[:3])})"
        )
        return EXIT_NOTHING_CHECKED
    campaign = Campaign(cfg, target, cells)
    stored = sum(bool(s.failures) for s in campaign.start.values())
    limit = f"for {cfg.seconds:g} s" if cfg.seconds else "until stopped (Ctrl-C)"
    out(
        f"ndpool fuzz: target {target.name}, {len(cells)} cells under HypoFuzz on {cfg.jobs} "
        f"process(es) {limit}, database {cfg.db} ({stored} cells with stored failures)"
    )
    if cfg.dashboard:
        out(f"dashboard: http://{cfg.host}:{cfg.port}")
    env = dict(os.environ)
    if not cfg.verbose:
        env.setdefault("PYTHONWARNINGS", "ignore")
    process = subprocess.Popen(
        cfg.command(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    tail: collections.deque[str] = collections.deque(maxlen=60)

    def pump() -> None:
        for line in process.stdout:
            tail.append(line.rstrip())
            if cfg.verbose:
                out(f"  hypofuzz| {line.rstrip()}")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    start = last_progress = last_poll = time.monotonic()
    why = ""
    try:
        while True:
            time.sleep(1.0)
            elapsed = time.monotonic() - start
            if process.poll() is not None:
                why = f"HypoFuzz stopped by itself (exit status {process.returncode})"
                break
            if cfg.seconds is not None and elapsed >= cfg.seconds:
                why = f"{cfg.seconds:g} s are up"
                break
            if time.monotonic() - last_poll >= POLL_EVERY:
                last_poll = time.monotonic()
                if all(campaign.new_failures(campaign.read(reports=False)).values()):
                    why = "every cell has a new failure"
                    break
            if time.monotonic() - last_progress >= cfg.progress:
                last_progress = time.monotonic()
                now = campaign.read()
                inputs = sum(n for n, _ in campaign.delta(now).values())
                failed = [f"{op}/{prop}" for (op, prop), s in now.items() if s.failures]
                named = ", ".join(failed[:4]) + (", ..." if len(failed) > 4 else "")
                out(
                    f"[fuzz {_clock(elapsed)}] {len(cells)} cells, {inputs} inputs reported, "
                    f"{len(failed)} with a stored failure" + (f" ({named})" if failed else "")
                )
    except KeyboardInterrupt:
        why = "stopped (Ctrl-C)"
    _stop(process)
    reader.join(timeout=5)
    elapsed = time.monotonic() - start
    out(f"ndpool fuzz: {why} after {elapsed:.0f} s")
    return _summary(cfg, target, campaign, process, why, tail, out)


def _summary(cfg: FuzzConfig, target, campaign: Campaign, process, why, tail, out) -> int:
    now = campaign.read()
    new = campaign.new_failures(now)
    delta = campaign.delta(now)
    out("")
    out("inputs and seconds per cell, as HypoFuzz last reported them (this run):")
    width = max(len(f"{op} / {prop}") for op, prop in now)
    for (op, prop), state in now.items():
        inputs, secs = delta[(op, prop)]
        failed = len(state.failures)
        mark = f"  {failed} stored failure(s), {len(new[(op, prop)])} new" if failed else ""
        out(f"  {f'{op} / {prop}'.ljust(width)}  {inputs:8d} inputs  {secs:8.1f} s{mark}")
    fatal = {c: s.fatal for c, s in now.items() if s.fatal}
    failed = [c for c, s in now.items() if s.failures]
    for op, prop in failed:
        out("")
        out(f"FAIL: {op} / {prop} (stored in {cfg.db})")
        out(_replayed(cfg, target, op, prop).rstrip())
        replay = f"ndpool check --target {cfg.target} --op {op} --property {prop} --db {cfg.db}"
        out(f"replay: {replay}")
    for (op, prop), trace in fatal.items():
        out("")
        out(f"SUITE ERROR: HypoFuzz could not run {op} / {prop}:")
        out(trace.rstrip()[-3000:])
    total = sum(n for n, _ in delta.values())
    out("")
    out(
        f"{len(now)} cells fuzzed, {total} inputs reported, {len(failed)} with a stored "
        f"failure ({sum(bool(v) for v in new.values())} new)"
    )
    if failed:
        return EXIT_NOT_CONFORMANT
    if fatal:
        return EXIT_SUITE_ERROR
    if why.startswith("HypoFuzz stopped by itself"):
        out("HypoFuzz's last output:")
        out("\n".join(f"  {line}" for line in tail))
        return EXIT_SUITE_ERROR
    return EXIT_CONFORMANT


def _replayed(cfg: FuzzConfig, target, op: str, prop: str) -> str:
    """The cell's stored failure, replayed once by ``ndpool check``'s runner."""
    ctx = CheckContext(
        target, seed=0, database=cfg.db, deviations=cfg.deviations, max_examples=1, corpus=False
    )
    outcome = ctx.run(op, prop)
    if outcome.status == "fail":
        return outcome.message
    return (
        f"the stored example did not fail when replayed ({outcome.status}): a flaky failure, "
        "or one that needs more than one example to show"
    )
