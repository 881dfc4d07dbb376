"""``ndpool check`` as a CI gate: the set-up validated before anything runs, the target run
in worker processes (a crash or a hang becomes a failure of its op x property cell, and
the matrix goes on), and an exit status that says what happened (:data:`EXIT_CODES`).

The parent process validates the set-up (:func:`validate`: ops, properties, the
known-deviations file, the target, its device), works out which cells can run at all
(none: "nothing was checked"), and hands the cells to ``jobs`` worker processes. A worker
loads the target by name and runs each cell with :class:`~ndpool.conformance.runner.
CheckContext`; before every call of the target it tells the parent which example it is
about to run, so when the worker dies (a segfault, an abort) or goes quiet for longer
than ``timeout`` seconds (it is killed then), the parent reports that example, with a
reproducer, as the cell's failure, starts a new worker and carries on. Loading the target
in a new worker (importing its framework, which a loaded machine can make slow) is not
an example: it may take :data:`LOAD_TIMEOUT_FACTOR` times ``timeout`` before the worker
counts as hung while loading.

An interrupted run (Ctrl-C, or SIGTERM as a CI runner's time limit sends it) stops its
workers, prints and writes what the finished cells found, names the cells that did not
run, and exits with :data:`EXIT_INTERRUPTED` (or :data:`EXIT_NOT_CONFORMANT`, where a
finished cell failed). The workers leave the interrupt to the parent.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from ndpool import spec

from .cases import reproducer
from .deviations import Registry, RegistryError
from .discovery import where
from .example_db import DatabaseError, check_database
from .parts import SOFTWARE, MergeError, cell_owners, check_same_run, read_report
from .properties import PROPERTIES, _call_code, availability
from .provenance import software
from .reporting import Matrix, write_report
from .runner import DISCOVER_BY_DEFAULT, MAX_FINDINGS, PROFILES, CheckContext, Outcome
from .shards import CostTable, Shard, cost_function, shard_cells, table_path
from .targets import BUILTIN_TARGETS, load_target

EXIT_CONFORMANT = 0
EXIT_NOT_CONFORMANT = 1
EXIT_USAGE = 2
EXIT_SETUP = 3
EXIT_NOTHING_CHECKED = 4
EXIT_SUITE_ERROR = 5
EXIT_INTERRUPTED = 130  # the shells' status of a process that SIGINT ended

#: the exit statuses of ``ndpool check`` (also in its ``--help`` and docs/conformance/ci.md)
EXIT_CODES = {
    EXIT_CONFORMANT: "conformant (failures only inside registered known deviations)",
    EXIT_NOT_CONFORMANT: "not conformant: a property failed, or the target crashed or hung",
    EXIT_USAGE: "usage error (an unknown option or a bad value for one)",
    EXIT_SETUP: "set-up error: unknown target, op or property, a bad deviations file, an "
    "unavailable device, a report format that cannot be told; nothing was run",
    EXIT_NOTHING_CHECKED: "nothing was checked: the target provides none of the selected "
    "cells (ops, properties, gradients)",
    EXIT_SUITE_ERROR: "the suite itself failed (a bug in ndpool.conformance, not in the target)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGTERM) before every cell ran, and no finished "
    "cell failed: the summary and the report hold the finished cells and name the others",
}

REPORT_FORMATS = {".md": "md", ".json": "json", ".html": "html", ".htm": "html", ".xml": "xml"}

#: the signals that interrupt a run (:data:`EXIT_INTERRUPTED`)
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)

#: a run prints a progress line at least this often (seconds), and after each tenth
PROGRESS_EVERY = 30.0


class SetupError(Exception):
    """The run cannot start (:data:`EXIT_SETUP`); the message says why, in one line."""


@dataclass
class GateConfig:
    target: str = "ndpool.impl"
    device: str = "cpu"
    ops: list[str] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)
    profile: str = "quick"
    seed: int | None = None
    deviations: str | None = None
    db: str | None = None
    timeout: float = 60.0
    jobs: int = 1
    report: str | None = None
    report_format: str | None = None
    junit_xml: str | None = None
    verbose: bool = False
    #: run only this shard of the cells (:mod:`.shards`)
    shard: Shard | None = None
    #: the cost table shards are balanced by (``None``: the package's, measured on
    #: ndpool.impl; ``python -m ndpool.conformance.tools.cost_table`` makes one)
    costs: str | None = None
    #: distinct-failure discovery (``None``: the profile's default, see ``CheckContext``)
    discover: bool | None = None
    #: ``declared`` or ``spec`` (see ``CheckContext``)
    conventions: str = "declared"
    #: the registry set aside, its entries naming the distinct failures (``CheckContext``)
    unregistered: bool = False
    #: JSON reports of parts of this run (shards, an interrupted run): their finished
    #: cells are left out (:func:`finished_cells`)
    resume: list[str] = field(default_factory=list)

    def cells(self) -> list[tuple[str, str]]:
        """The selected cells, the whole matrix of the selection (every shard's)."""
        ops = self.ops or list(spec.OPS)
        props = self.properties or list(PROPERTIES)
        return [(op, p) for op in ops for p in props]

    def replay(self, op: str, prop: str) -> str:
        """One command line that replays exactly this cell."""
        parts = ["ndpool check", f"--target {self.target}", f"--op {op}", f"--property {prop}"]
        parts += [f"--profile {self.profile}", f"--seed {self.seed}"]
        if self.device != "cpu":
            parts.append(f"--device {self.device}")
        if self.deviations:
            parts.append(f"--deviations {self.deviations}")
        if self.db:
            parts.append(f"--db {self.db}")
        if self.discover is not None:
            parts.append("--discover" if self.discover else "--no-discover")
        if self.conventions != "declared":
            parts.append(f"--conventions {self.conventions}")
        if self.unregistered:
            parts.append("--unregistered")
        return " ".join(parts)

    def meta(self) -> dict:
        """What a report records of the run: enough for ``ndpool report merge`` to tell
        whether shard reports belong to one run, and to replay a failure."""
        return {
            "profile": self.profile,
            "seed": self.seed,
            "target": self.target,
            "device": self.device,
            "deviations": self.deviations,
            "db": self.db,
            "ops": list(self.ops),
            "properties": list(self.properties),
            "shard": str(self.shard) if self.shard else None,
            "costs": self.costs,
            "jobs": self.jobs,
            "discover": self.discover,
            "conventions": self.conventions,
            "unregistered": self.unregistered,
        }


# -- set-up -------------------------------------------------------------------------------------
def report_format(path: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix not in REPORT_FORMATS:
        raise SetupError(
            f"cannot tell the report format of {path!r} from its extension: use one of "
            f"{', '.join(sorted(REPORT_FORMATS))} or --format"
        )
    return REPORT_FORMATS[suffix]


def validate(cfg: GateConfig):
    """Check the set-up before anything runs; the loaded target, or :class:`SetupError`."""
    unknown = [op for op in cfg.ops if op not in spec.OPS]
    if unknown:
        raise SetupError(f"unknown op(s) {unknown}; known: {', '.join(spec.OPS)}")
    unknown = [p for p in cfg.properties if p not in PROPERTIES]
    if unknown:
        raise SetupError(f"unknown property(ies) {unknown}; known: {', '.join(PROPERTIES)}")
    if cfg.profile not in PROFILES:
        raise SetupError(f"unknown profile {cfg.profile!r}; known: {', '.join(PROFILES)}")
    if cfg.timeout <= 0:
        raise SetupError(f"--timeout must be positive, not {cfg.timeout}")
    if cfg.jobs < 1:
        raise SetupError(f"-n must be at least 1, not {cfg.jobs}")
    if cfg.shard is not None and cfg.seed is None:
        raise SetupError(
            f"--shard {cfg.shard} needs --seed: the shards of one run must draw with one seed"
        )
    if cfg.costs is not None:
        try:
            CostTable.load(cfg.costs)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SetupError(f"--costs {cfg.costs}: not a cost table ({exc!r})") from None
    if cfg.db:
        try:
            check_database(cfg.db)
        except DatabaseError as exc:
            raise SetupError(str(exc)) from None
    if cfg.report:
        cfg.report_format = report_format(cfg.report, cfg.report_format)
    if cfg.device != "cpu":
        _check_device(cfg.device)
    target = _load(cfg)
    try:
        path = cfg.deviations or target.deviations_file
        Registry.load(
            target.name, path, required=cfg.deviations is not None, properties=tuple(PROPERTIES)
        )
    except RegistryError as exc:
        raise SetupError(f"known-deviations file: {exc}") from None
    return target


def finished_cells(cfg: GateConfig) -> set[tuple[str, str]]:
    """The cells that the reports of ``cfg.resume`` finished, which must be parts of this
    run (:func:`.parts.check_same_run`: the same target, profile, seed, selection, options
    and software; the seed is theirs where ``cfg`` has none) and hold no cell twice; else
    :class:`SetupError`."""
    if not cfg.resume:
        return set()
    try:
        reports = [read_report(path) for path in cfg.resume]
        if cfg.seed is None:
            cfg.seed = reports[0].meta["seed"]
        check_same_run({**cfg.meta(), SOFTWARE: software(cfg.target)}, reports, "this run")
        return set(cell_owners(reports))
    except MergeError as exc:
        raise SetupError(f"--resume: {exc}") from None


def _check_device(device: str) -> None:
    try:
        import torch
    except ImportError:
        raise SetupError(f"--device {device} needs torch, which is not installed") from None
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise SetupError(f"--device {device}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SetupError(f"--device {device}: CUDA is not available on this machine")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise SetupError(f"--device {device}: there are {torch.cuda.device_count()} CUDA devices")


def _load(cfg: GateConfig):
    name = cfg.target.split("@", 1)[0]
    builtin = BUILTIN_TARGETS.get(name)
    if builtin is not None and builtin.missing():
        raise SetupError(
            f"target {cfg.target!r} needs {', '.join(builtin.missing())}: {builtin.install}"
        )
    try:
        return load_target(cfg.target, device=cfg.device)
    except Exception as exc:  # unknown name, import error, a factory that raised
        raise SetupError(
            f"cannot load target {cfg.target!r}: {type(exc).__name__}: {exc}"
        ) from None


def runnable(target, cells) -> tuple[list, dict]:
    """``(cells that can run, {cell: (status, reason)} for the others)``."""
    run, blocked = [], {}
    for op, prop in cells:
        why = availability(target, op, prop)
        if why is None:
            run.append((op, prop))
        else:
            blocked[(op, prop)] = why
    return run, blocked


# -- workers --------------------------------------------------------------------------------------
#: the variables that size the thread pools of the frameworks a worker may load (OpenMP:
#: torch, onnxruntime's MLAS; BLAS; TensorFlow's two pools), read when each is imported
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def worker_threads(jobs: int) -> int:
    """The threads of one worker's framework: the cores shared out between the ``jobs``
    workers, at least one. A framework left to its default takes a pool of every core in
    each worker, and the workers' pools together oversubscribe the cores: a parallel
    region then waits for a thread that has no core (torch's ``logsigmoid`` over 4096
    float64 takes tens of milliseconds instead of half of one on a loaded 2-core machine)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(jobs, 1))


def size_thread_pools(jobs: int) -> None:
    """Size the thread pools before the target's framework is imported (a variable the
    user set is kept), and torch's where it is imported already."""
    threads = str(worker_threads(jobs))
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def _worker(conn, cfg: GateConfig) -> None:
    """Load the target and run the cells the parent sends, reporting every example."""
    import warnings

    if not cfg.verbose:
        warnings.simplefilter("ignore")
    for sig in INTERRUPTS:  # Ctrl-C reaches the whole process group, a CI runner's SIGTERM
        signal.signal(sig, signal.SIG_IGN)  # may: the parent stops the run (and this worker)
    size_thread_pools(cfg.jobs)
    try:
        target = load_target(cfg.target, device=cfg.device)
        ctx = CheckContext(
            target,
            profile=cfg.profile,
            seed=cfg.seed,
            database=cfg.db,
            deviations=cfg.deviations,
            discover=cfg.discover,
            conventions=cfg.conventions,
            unregistered=cfg.unregistered,
        )
    except Exception as exc:  # validated in the parent already: should not happen
        conn.send(("broken", f"{type(exc).__name__}: {exc}"))
        return

    def observe(case, what, args):
        conn.send(("example", case, what, args))

    last_beat = [time.monotonic()]
    drawn = [0]  # the examples the running cell has begun (set aside ones included)

    def heartbeat():  # at most one a second: the parent needs only to know it goes on
        drawn[0] += 1
        now = time.monotonic()
        if now - last_beat[0] >= 1.0:
            last_beat[0] = now
            conn.send(("alive", drawn[0]))

    ctx.observer = observe
    ctx.heartbeat = heartbeat
    conn.send(("loaded",))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone (killed): nobody to report to
            return
        if message is None:
            return
        op, prop, crashed = message
        drawn[0] = 0
        outcome = ctx.run(op, prop, crashed)
        try:
            conn.send(("done", outcome))
        except OSError:  # a broken pipe: the parent is gone
            return


#: a new worker may take this many times ``--timeout`` to load the target (the module doc)
LOAD_TIMEOUT_FACTOR = 10


@dataclass
class _Worker:
    process: mp.process.BaseProcess
    conn: object
    cell: tuple[str, str] | None = None
    last: tuple | None = None  # the example running: (case, what, args)
    since: float = 0.0
    loaded: bool = False  # the worker said it has loaded the target
    drawn: int = 0  # the examples its cell has begun, by its last heartbeat


class Gate:
    """Runs the selected cells on ``jobs`` workers and collects the outcomes."""

    def __init__(
        self,
        cfg: GateConfig,
        target,
        progress=print,
        weights: dict | None = None,
        checkpoint: Callable[[dict], None] | None = None,
    ):
        self.cfg = cfg
        self.target = target
        #: told the outcomes so far after each finished cell (the report's checkpoint)
        self.checkpoint = checkpoint
        self.progress = progress
        #: the estimated cost of each cell (:mod:`.shards`), for the time left
        self.weights = weights or {}
        self.context = mp.get_context("spawn")
        self.outcomes: dict[tuple[str, str], Outcome] = {}
        #: per cell, ``(message, case)`` of each example that crashed (or hung) a worker:
        #: with discovery the cell runs again in a new worker with their regions set aside
        self.crashes: dict[tuple[str, str], list] = {}
        self.discover = (
            cfg.discover if cfg.discover is not None else cfg.profile in DISCOVER_BY_DEFAULT
        )
        self.started = self.last_line = time.monotonic()
        #: the cells that did not finish, where the run was interrupted
        self.interrupted: list[tuple[str, str]] = []

    def _spawn(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(child, self.cfg), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def run(self, cells: list[tuple[str, str]]) -> dict[tuple[str, str], Outcome]:
        """The outcome of each cell; where the run is interrupted (KeyboardInterrupt: see
        :func:`check`), those of the cells that finished, the others in
        :attr:`interrupted`."""
        workers: list[_Worker] = []
        try:
            self._run(cells, workers)
        except KeyboardInterrupt:
            self.interrupted = [c for c in cells if c not in self.outcomes]
            for w in workers:
                w.process.kill()
        for w in workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
            w.process.join(timeout=5)
            if w.process.is_alive():
                w.process.kill()
        return self.outcomes

    def _run(self, cells: list[tuple[str, str]], workers: list[_Worker]) -> None:
        queue = list(cells)
        workers += [self._spawn() for _ in range(min(self.cfg.jobs, len(queue)))]
        done = 0
        self.started = self.last_line = time.monotonic()
        while queue or any(w.cell for w in workers):
            for w in workers:
                if w.cell is None and queue:
                    w.cell = queue.pop(0)
                    w.last, w.since, w.drawn = None, time.monotonic(), 0
                    w.conn.send((*w.cell, tuple(self.crashes.get(w.cell, ()))))
            busy = [w for w in workers if w.cell]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
            now = time.monotonic()
            if now - self.last_line >= PROGRESS_EVERY:
                running = ", ".join(
                    f"{w.cell[0]}/{w.cell[1]}" + (f" ({w.drawn} drawn)" if w.drawn else "")
                    for w in busy
                )
                self._line(f"[{done}/{len(cells)}] {self._status(cells)}; running {running}")
            for w in busy:
                outcome = None
                if w.conn in ready:
                    try:
                        while w.conn.poll():
                            message = w.conn.recv()
                            if message[0] == "example":
                                w.last, w.since = message[1:], time.monotonic()
                            elif message[0] == "loaded":
                                w.loaded, w.since = True, time.monotonic()
                            elif message[0] == "alive":  # examples set aside, no call
                                w.since, w.drawn = time.monotonic(), message[1]
                            elif message[0] == "done":
                                outcome = message[1]
                                break
                            else:  # "broken": the target could not load in the worker
                                outcome = Outcome(*w.cell, "error", message[1])
                                break
                    except (EOFError, OSError):
                        outcome = self._crashed(w)
                elif not w.process.is_alive():
                    outcome = self._crashed(w)
                elif now - w.since > self._allowance(w):
                    outcome = self._hung(w)
                if outcome is None:
                    continue
                if self._search_on(w, outcome):
                    queue.insert(0, w.cell)
                    w.cell = None
                    workers[workers.index(w)] = self._spawn()
                    continue
                self.outcomes[w.cell] = outcome
                done += 1
                if self.checkpoint is not None and len(self.outcomes) < len(cells):
                    self.checkpoint(dict(self.outcomes))  # on disk before the line says so
                self._report_progress(outcome, done, cells)
                w.cell = None
                if not w.process.is_alive():
                    workers[workers.index(w)] = self._spawn()

    def _allowance(self, w: _Worker) -> float:
        """Seconds ``w`` may go quiet: ``--timeout``, or more while it loads the target."""
        return self.cfg.timeout * (1 if w.loaded else LOAD_TIMEOUT_FACTOR)

    def _where(self, w: _Worker) -> str:
        if not w.loaded:
            return "a new worker, loading the target (before any example)"
        if w.last is None:
            return "before its first example (drawing it)"
        case, what, args = w.last
        return f"{what} of {case.describe()}\nreproducer:\n" + _indent(
            reproducer(case, self.target.construct, _call_code(what, args))
        )

    def _search_on(self, w: _Worker, outcome: Outcome) -> bool:
        """After a crash (or a hang) on a known example, with discovery: note it, and run
        the cell again in a new worker with its region set aside (so that what the crash
        hides is searched too), until the cell has :data:`MAX_FINDINGS` of them."""
        if w.process.is_alive() or w.last is None or not self.discover:
            return False
        crashes = self.crashes.setdefault(w.cell, [])
        if len(crashes) + 1 >= MAX_FINDINGS:
            return False
        crashes.append((outcome.message, w.last[0]))
        self._line(f"{w.cell[0]} / {w.cell[1]}: {outcome.message.splitlines()[0]}; searching on")
        return True

    def _crashed(self, w: _Worker) -> Outcome:
        w.process.join(timeout=5)
        code = w.process.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        op, prop = w.cell
        return Outcome(
            op, prop, "fail", f"the target crashed the process ({how}) in {self._where(w)}"
        )

    def _hung(self, w: _Worker) -> Outcome:
        w.process.kill()
        w.process.join(timeout=5)
        op, prop = w.cell
        return Outcome(
            op,
            prop,
            "fail",
            f"the target hung: no progress for {self._allowance(w):g} s (--timeout"
            f"{'' if w.loaded else f' x {LOAD_TIMEOUT_FACTOR} to load'}) in "
            f"{self._where(w)}",
        )

    def _line(self, text: str) -> None:
        self.last_line = time.monotonic()
        self.progress(text)

    def _status(self, cells: list) -> str:
        """Examples and seconds so far, and the time left (from the cells' weights)."""
        examples = sum(o.examples for o in self.outcomes.values())
        elapsed = time.monotonic() - self.started
        text = f"{examples} examples in {elapsed:.0f} s"
        done_w = sum(self.weights.get(c, 1.0) for c in self.outcomes)
        left_w = sum(self.weights.get(c, 1.0) for c in cells if c not in self.outcomes)
        if done_w > 0 and left_w > 0:
            text += f", about {elapsed * left_w / done_w:.0f} s left"
        return text

    def _report_progress(self, outcome: Outcome, done: int, cells: list) -> None:
        total = len(cells)
        if self.cfg.verbose or outcome.status in ("fail", "error"):
            self._line(
                f"[{done}/{total}] {outcome.op} / {outcome.prop}: {outcome.status} "
                f"({outcome.examples} examples, {outcome.seconds:.1f} s)"
            )
        elif done % max(1, total // 10) == 0 or done == total:
            self._line(f"[{done}/{total}] checked: {self._status(cells)}")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


# -- the run --------------------------------------------------------------------------------------
def check(cfg: GateConfig, out=print) -> int:
    """Run the gate; print the matrix, the failures with their replay commands, the
    verdict; return the exit status (:data:`EXIT_CODES`)."""
    try:
        target = validate(cfg)
        done = finished_cells(cfg)
    except SetupError as exc:
        out(f"ndpool check: set-up error: {exc}")
        return EXIT_SETUP
    if cfg.seed is None:
        import random

        cfg.seed = random.randrange(2**32)
    cells = cfg.cells()
    to_run, blocked = runnable(target, cells)
    table = CostTable.load(table_path(target.name) if cfg.costs is None else cfg.costs)
    cost = cost_function(table, cfg.profile, blocked)
    where = ""
    if cfg.shard is not None:
        mine = set(shard_cells(cells, cfg.shard, cost))
        share = sum(cost(c) for c in mine) / max(sum(cost(c) for c in cells), 1e-9)
        where = f"shard {cfg.shard} ({len(mine)} of {len(cells)} cells, {share:.0%} of the cost), "
        cells = [c for c in cells if c in mine]
        to_run = [c for c in to_run if c in mine]
        blocked = {c: why for c, why in blocked.items() if c in mine}
    if done:
        left = [c for c in cells if c not in done]
        where += (
            f"resumed ({len(cells) - len(left)} cells finished in {len(cfg.resume)} report(s)), "
        )
        cells, to_run = left, [c for c in to_run if c not in done]
        blocked = {c: why for c, why in blocked.items() if c not in done}
    if not to_run:
        reasons = sorted({reason for _, reason in blocked.values()})
        if done:
            shard = f"of shard {cfg.shard} " if cfg.shard else ""
            out(
                f"ndpool check: nothing was checked: the reports of --resume finished every "
                f"cell {shard}that the target runs; ndpool report merge combines them"
                + (
                    f" and this run's JSON report, which holds the {len(cells)} cells left "
                    "(none of which the target provides)"
                    if cells
                    else ""
                )
            )
        else:
            out(
                f"ndpool check: nothing was checked: target {target.name!r} provides none of "
                f"the {len(cells)} selected op x property cells "
                + (f"of shard {cfg.shard} " if cfg.shard else "")
                + f"({'; '.join(reasons[:3]) or 'the shard holds no cell'})"
            )
        if (cfg.shard or done) and cfg.report and cfg.report_format == "json":  # to merge
            matrix = Matrix()
            for (op, prop), (status, reason) in blocked.items():
                matrix.set(target.name, op, prop, status, reason)
            _write(matrix, cfg, cfg.report, "json", cells, ran_on=software(cfg.target))
        return EXIT_NOTHING_CHECKED
    out(
        f"ndpool check: target {target.name}, profile {cfg.profile} "
        f"({PROFILES[cfg.profile]} examples per cell after the edge corpus), seed {cfg.seed}, "
        f"{where}{len(to_run)} cells on {cfg.jobs} worker(s)"
    )
    start = time.perf_counter()
    ran_on = software(cfg.target)
    registry = Registry.load(target.name, cfg.deviations or target.deviations_file)
    checkpoint = None
    if cfg.report and cfg.report_format == "json":

        def checkpoint(finished: dict) -> None:
            """The report so far, as an interrupted run's: a run killed outright (no
            SIGTERM) leaves it, and ``--resume`` goes on from it."""
            left = [c for c in to_run if c not in finished]
            matrix = _matrix(target.name, blocked, finished, registry)
            part = f"{cfg.report}.part"
            _write(matrix, cfg, part, "json", [c for c in cells if c not in left],
                   [f"{op}/{prop}" for op, prop in left], ran_on)  # fmt: skip
            os.replace(part, cfg.report)

    gate = Gate(cfg, target, out, {c: cost(c) for c in to_run}, checkpoint)
    with _terminate_as_interrupt():
        outcomes = gate.run(to_run)
    cells = [c for c in cells if c not in gate.interrupted]  # the report's: what finished
    matrix = _matrix(target.name, blocked, outcomes, registry)
    examples = {cell: o.examples for cell, o in outcomes.items()}
    failures = [o for o in outcomes.values() if o.status == "fail"]
    errors = [o for o in outcomes.values() if o.status == "error"]
    summarize(matrix, target.name, cfg, out, registry.source, bool(gate.interrupted))
    secs = time.perf_counter() - start
    total = sum(examples.values())
    shard = f", shard {cfg.shard}" if cfg.shard else ""
    checked = total - matrix.excluded(target.name)
    out(
        f"{len(outcomes)} cells, {total} examples ({checked} checked outside registered "
        f"regions) in {secs:.0f} s (seed {cfg.seed}{shard})"
    )
    stopped = [f"{op}/{prop}" for op, prop in gate.interrupted]
    if stopped:
        out(
            f"interrupted: {len(stopped)} of {len(to_run)} cells did not run (or did not "
            f"finish), nothing is known of them: {', '.join(stopped)}"
        )
    if cfg.report:
        _write(matrix, cfg, cfg.report, cfg.report_format, cells, stopped, ran_on)
        out(f"report written to {cfg.report}" + (" (the finished cells)" if stopped else ""))
    if cfg.junit_xml:
        _write(matrix, cfg, cfg.junit_xml, "xml", cells, ran_on=ran_on)
    if failures:
        return EXIT_NOT_CONFORMANT
    if stopped:
        return EXIT_INTERRUPTED
    if errors:
        out("the suite itself failed (SUITE ERROR above): please report it")
        return EXIT_SUITE_ERROR
    return EXIT_CONFORMANT


def summarize(
    matrix: Matrix, name: str, cfg: GateConfig, out, source: str = "", interrupted: bool = False
) -> None:
    """Print a run's (or a merged run's) failures, costs, matrix and registry use: each
    failure in one line per distinct failure with its replay command (``cfg.verbose``: in
    full, with its counterexample and reproducer, which the reports always hold;
    ``interrupted``: some cells did not run, and the verdict says so)."""
    cells = sorted(
        (k for k, s in matrix.cells.items() if k[0] == name and s in ("fail", "error")),
        key=lambda k: matrix.cells[k] != "fail",
    )
    for key in cells:
        _, op, prop = key
        label = "FAIL" if matrix.cells[key] == "fail" else "SUITE ERROR"
        message = matrix.messages.get(key, "").rstrip()
        found = describe_found(matrix.found_at.get(key), matrix.replayed.get(key, 0))
        if cfg.verbose:
            out("")
            out(f"{label}: {op} / {prop}")
            out(message)
            if found:
                out(found)
            out(f"replay: {cfg.replay(op, prop)}")
            continue
        findings = matrix.findings.get(key, [])
        lines = [_one_line(f) for f in findings] or [message.splitlines()[0] if message else ""]
        for line in lines:
            out(f"{label}: {op} / {prop}: {line}")
        if found:
            out(f"  {found}")
        out(f"  replay: {cfg.replay(op, prop)} -v")
    if cells and not cfg.verbose:
        out(
            "(-v prints each failure in full: its counterexample and reproducer; --report FILE "
            "writes them)"
        )
    out("")
    out(matrix.render_costs(name))
    out("")
    out(matrix.render_text(name, interrupted))
    hits = matrix.hits(name)
    if hits:
        out("known deviations hit: " + ", ".join(f"{k} ({v}x)" for k, v in sorted(hits.items())))
    excluded = matrix.excluded(name)
    if excluded:
        out(
            f"{excluded} drawn example(s) fell in registered regions and were set aside (not "
            "counted); every counted example was checked outside them"
        )
    where = f" ({source})" if source else ""
    for entry in matrix.stale(name):
        out(f"stale deviation {entry!r}{where}: examples in its region were checked and conformed")
    coverage = matrix.coverage(name)
    if coverage is not None:
        out(
            f"registry set aside: {len(coverage['found'])} of its entries found again "
            f"({', '.join(coverage['found']) or 'none'}), {len(coverage['new'])} new "
            f"failure(s), not found this run: {', '.join(coverage['not_found']) or 'none'}; "
            f"kept (skip: never run): {', '.join(coverage['guarded']) or 'none'}"
        )
        return
    quiet = matrix.not_sampled(name)
    if quiet and cfg.verbose:
        out(
            f"not sampled ({len(quiet)}): no checked example reached the region of "
            + ", ".join(quiet)
            + " (their reproducers check them)"
        )


def _one_line(finding: dict) -> str:
    line = f"{finding['kind']} [{where(finding)}]"
    if "entry" in finding:
        line += f" -- registered as {finding['entry']}" if finding["entry"] else " -- NEW"
    return line


def describe_found(found_at: int | None, replayed: int) -> str:
    """Where in the drawn examples a failure was found, and whether the database held
    examples of the cell (Hypothesis replays them first)."""
    if found_at is None:
        return ""
    text = f"found at drawn example {found_at}"
    if replayed:
        text += (
            f" (the example database held {replayed} example(s) of this cell, replayed "
            "before any new one" + (": the first of them failed)" if found_at == 1 else ")")
        )
    return text


def _matrix(name: str, blocked: dict, outcomes: dict, registry: Registry) -> Matrix:
    """The matrix of a run: the cells the target cannot run (``blocked``), the outcomes of
    those it ran, and the registry's entries."""
    matrix = Matrix()
    for (op, prop), (status, reason) in blocked.items():
        matrix.set(name, op, prop, status, reason)
    matrix.registry_sources[name] = registry.source
    matrix.entries[name] = [e.id for e in registry.entries]
    matrix.guards[name] = [e.id for e in registry.entries if e.skip]
    for (op, prop), o in outcomes.items():
        key = (name, op, prop)
        matrix.set(name, op, prop, o.status, o.message)
        matrix.examples[key] = o.examples
        matrix.durations[key] = o.seconds
        if o.found_at is not None:
            matrix.found_at[key] = o.found_at
        if o.replayed:
            matrix.replayed[key] = o.replayed
        if o.findings:
            matrix.findings[key] = o.findings
        if o.excluded:
            matrix.excluded_cells[key] = o.excluded
        for counts, per_entry in (
            (matrix.hit_counts, o.hits),
            (matrix.clean_counts, o.clean),
            (matrix.excluded_counts, o.excluded_by),
        ):
            counts[name].update(per_entry)
    return matrix


def _write(
    matrix: Matrix, cfg: GateConfig, path: str, fmt: str, cells=(), stopped=(), ran_on=None
) -> None:
    """Write the report; a JSON one records the run (:meth:`GateConfig.meta`), the
    software it ran on (``ran_on``: :func:`.provenance.software`) and its cells, which
    ``ndpool report merge`` reads. ``stopped``: the cells an interrupt kept from running
    (a report of an interrupted run names them, and a merge refuses it)."""
    extra = {"interrupted": list(stopped)} if stopped else {}
    if ran_on:
        extra["software"] = ran_on
    if fmt == "xml":
        Path(path).write_text(junit_xml(matrix, cfg))
    elif fmt == "json":
        cells = [f"{op}/{prop}" for op, prop in cells]
        write_report(matrix, path, fmt=fmt, **cfg.meta(), cells=cells, **extra)
    else:
        meta = {"profile": cfg.profile, "seed": cfg.seed}
        if ran_on:
            meta["software"] = ", ".join(f"{k} {v}" for k, v in ran_on.items())
        if cfg.shard:
            meta["shard"] = str(cfg.shard)
        if stopped:
            meta["interrupted"] = f"{len(stopped)} cell(s) did not run: {', '.join(stopped)}"
        write_report(matrix, path, fmt=fmt, **meta)


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM (a CI runner's time limit, ``timeout``, ``kill``) interrupts the run as
    Ctrl-C does, so that what finished is reported (in the main thread only: Python
    handles signals there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def junit_xml(matrix: Matrix, cfg: GateConfig) -> str:
    """JUnit XML, one test case per op x property (failures carry their message)."""
    from xml.sax.saxutils import escape, quoteattr

    cases = []
    counts = {"fail": 0, "skip": 0}
    for (target, op, prop), status in sorted(matrix.cells.items()):
        name = quoteattr(f"{op}-{prop}")
        secs = matrix.durations.get((target, op, prop), 0.0)
        body = ""
        if status in ("fail", "error"):
            counts["fail"] += 1
            msg = matrix.messages.get((target, op, prop), "")
            first = msg.splitlines()[0] if msg else status
            replay = cfg.replay(op, prop)
            body = (
                f"<failure message={quoteattr(first)}>{escape(msg)}\nreplay: "
                f"{escape(replay)}</failure>"
            )
        elif status not in ("pass", "known deviation"):
            counts["skip"] += 1
            body = f"<skipped message={quoteattr(status)}/>"
        cases.append(
            f"<testcase classname={quoteattr('ndpool.' + target)} name={name} "
            f'time="{secs:.3f}">{body}</testcase>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuite name="ndpool check" tests="{len(cases)}" failures="{counts["fail"]}" '
        f'skipped="{counts["skip"]}">\n' + "\n".join(cases) + "\n</testsuite>\n"
    )
