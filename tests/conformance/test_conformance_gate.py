"""`ndpool check` as a CI gate, run for real in a subprocess against small broken targets
(fixtures/broken_targets.py): each way a run can go wrong gets its own exit status and a
one-line message, a crash or a hang is a failure of its cell (and the matrix goes on),
and a failure prints a command line that replays it."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import signal
import subprocess

import cli_run
import pytest

from ndpool.conformance.gate import (
    EXIT_CONFORMANT,
    EXIT_INTERRUPTED,
    EXIT_NOT_CONFORMANT,
    EXIT_NOTHING_CHECKED,
    EXIT_SETUP,
    EXIT_USAGE,
)

TYPO_OP = """
[[deviation]]
id = "typo"
op = "max_pol"
property = "forward"
reason = "an op name with a typo"
"""
TYPO_FIELD = """
[[deviation]]
id = "typo"
op = "max_pool"
proprety = "forward"
reason = "a field name with a typo"
"""


ndpool = cli_run.ndpool


def _lines(out) -> str:
    return (out.stdout + out.stderr)[-4000:]


def _setup_error(tmp_path, *args) -> str:
    out = ndpool(tmp_path, "check", *args)
    assert out.returncode == EXIT_SETUP, _lines(out)
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ndpool check: set-up error: "), _lines(out)
    assert out.stderr == "", out.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--target", "no_such_target"], "unknown target 'no_such_target'"),
        (["--target", "no_such_module:target"], "No module named 'no_such_module'"),
        (["--op", "maxpool"], "unknown op(s) ['maxpool']"),
        (["--property", "forwrd"], "unknown property(ies) ['forwrd']"),
        (["--deviations", "missing.toml"], "missing.toml does not exist"),
        (["--deviations", "bad.toml"], "bad.toml is not valid TOML"),
        (["--deviations", "typo_op.toml"], "unknown op(s) ['max_pol']"),
        (["--deviations", "typo_field.toml"], "unknown field(s) ['proprety']"),
        (["--report", "r.txt"], "cannot tell the report format of 'r.txt'"),
        (["--timeout", "0"], "--timeout must be positive"),
    ],
    ids=[
        "unknown-target",
        "unimportable-target",
        "unknown-op",
        "unknown-property",
        "missing-deviations",
        "invalid-toml",
        "deviation-names-unknown-op",
        "deviation-names-unknown-field",
        "report-format",
        "timeout",
    ],
)
def test_setup_errors_are_one_line_and_exit_3(tmp_path, args, names):
    (tmp_path / "bad.toml").write_text("[[deviation\nid = \n")
    (tmp_path / "typo_op.toml").write_text(TYPO_OP)
    (tmp_path / "typo_field.toml").write_text(TYPO_FIELD)
    assert names in _setup_error(tmp_path, *args)


@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="this machine has CUDA: --device cuda is valid"
)
def test_cuda_without_cuda_is_a_setup_error(tmp_path):
    assert "CUDA is not available" in _setup_error(tmp_path, "--device", "cuda")


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--target", "broken_targets:avg_only", "--op", "max_pool"], "has no max_pool"),
        (["--target", "os:path"], "'os:path' has no"),
    ],
    ids=["op-not-provided", "empty-target"],
)
def test_nothing_checked_is_not_a_pass(tmp_path, args, why):
    out = ndpool(tmp_path, "check", *args)
    assert out.returncode == EXIT_NOTHING_CHECKED, _lines(out)
    assert out.stdout.startswith("ndpool check: nothing was checked: ") and why in out.stdout


def test_wrong_output_dtype_is_not_conformant(tmp_path):
    out = ndpool(
        tmp_path, "check", "--target", "broken_targets:wrong_dtype", "--op", "avg_pool",
        "--property", "forward", "--seed", "1", "-v",
    )  # fmt: skip
    assert out.returncode == EXIT_NOT_CONFORMANT, _lines(out)
    assert re.search(r"the output has dtype float64, not float(16|32)", out.stdout), _lines(out)
    assert "NOT CONFORMANT" in out.stdout


def test_a_hang_is_a_failure_of_its_cell_and_the_matrix_goes_on(tmp_path):
    out = ndpool(
        tmp_path, "check", "--target", "broken_targets:hangs", "--op", "max_pool", "avg_pool",
        "--property", "forward", "--timeout", "3", "--seed", "1", "-v",
    )  # fmt: skip
    assert out.returncode == EXIT_NOT_CONFORMANT, _lines(out)
    assert "FAIL: max_pool / forward" in out.stdout
    assert "the target hung: no progress for 3 s (--timeout) in forward of max_pool(" in out.stdout
    assert "reproducer:" in out.stdout
    assert re.search(r"^avg_pool\s+pass\s*$", out.stdout, re.M), _lines(out)


def test_loading_the_target_is_not_an_example_but_a_load_that_never_ends_is_a_hang(tmp_path):
    """A worker's load (4 s) counts against ten times --timeout (1 s), not --timeout; a
    worker whose load never ends is reported hung once that allowance is spent."""
    args = ["--op", "max_pool", "--property", "forward", "--timeout", "1", "--seed", "1"]
    out = ndpool(tmp_path, "check", "--target", "broken_targets:slow_to_load", *args)
    assert out.returncode == 0, _lines(out)
    args[-3] = "0.5"
    out = ndpool(tmp_path, "check", "--target", "broken_targets:hangs_loading_in_a_worker", *args)
    assert out.returncode == EXIT_NOT_CONFORMANT, _lines(out)
    assert "the target hung: no progress for 5 s (--timeout x 10 to load) in a new worker, " \
        "loading the target" in out.stdout, _lines(out)  # fmt: skip


#: a run whose max_pool cell hangs in one worker while avg_pool passes in the other
HANGING = ("check", "--target", "broken_targets:hangs", "--op", "max_pool", "avg_pool",
           "--property", "forward")  # fmt: skip


def _stopped_after_one_cell(tmp_path, stop) -> tuple[subprocess.Popen, str, str]:
    """The hanging run (seed 1, 2 workers, report r.json), stopped by ``stop(run)`` once
    avg_pool's cell has finished; the run, its output and its stderr."""
    run = cli_run.start_ndpool(
        tmp_path, *HANGING, "--seed", "1", "-n", "2", "--timeout", "600", "--report", "r.json"
    )
    try:
        seen = []
        for line in run.stdout:
            seen.append(line)
            if line.startswith("[1/2]"):
                break
        assert seen and seen[-1].startswith("[1/2]"), "".join(seen)
        stop(run)
        rest, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    return run, "".join(seen) + rest, err


def _resume_and_merge(tmp_path) -> None:
    """Resume the stopped hanging run from r.json (its max_pool cell hangs: a failure at
    --timeout 2) and merge the two reports into the whole run's matrix."""
    rest = ndpool(
        tmp_path, *HANGING, "--timeout", "2", "--resume", "r.json", "--report", "rest.json"
    )
    assert rest.returncode == EXIT_NOT_CONFORMANT, _lines(rest)
    assert "seed 1, resumed (1 cells finished in 1 report(s)), 1 cells" in rest.stdout
    assert json.loads((tmp_path / "rest.json").read_text())["meta"]["cells"] == ["max_pool/forward"]
    whole = ndpool(tmp_path, "report", "merge", "r.json", "rest.json", "--report", "m.json")
    assert whole.returncode == EXIT_NOT_CONFORMANT, _lines(whole)
    assert "merged 2 report(s) (2 cells)" in whole.stdout, _lines(whole)
    body = next(iter(json.loads((tmp_path / "m.json").read_text())["targets"].values()))
    assert body["cells"] == {"max_pool": {"forward": "fail"}, "avg_pool": {"forward": "pass"}}
    assert "hung" in body["failures"]["max_pool/forward"]


@pytest.mark.parametrize(
    ("sig", "group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c-to-the-group", "sigterm-to-the-run"],
)
def test_an_interrupted_run_reports_the_cells_that_finished(tmp_path, sig, group):
    """Ctrl-C (SIGINT to the whole process group) or SIGTERM (to the run) stops the run:
    no worker traceback, the finished cell in the summary and the report, the unfinished
    one named, an exit status of its own, and a report that --resume goes on from."""
    run, out, err = _stopped_after_one_cell(
        tmp_path, lambda run: (os.killpg if group else os.kill)(run.pid, sig)
    )
    assert run.returncode == EXIT_INTERRUPTED, out + err
    assert "Traceback" not in err, err
    assert "interrupted: 1 of 2 cells did not run (or did not finish), nothing is known of " \
        "them: max_pool/forward" in out, out  # fmt: skip
    assert re.search(r"^avg_pool\s+pass\s*$", out, re.M), out
    assert "INTERRUPTED: no verdict" in out and "CONFORMANT" not in out, out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["meta"]["interrupted"] == ["max_pool/forward"]
    assert report["meta"]["cells"] == ["avg_pool/forward"]
    body = next(iter(report["targets"].values()))
    assert body["cells"] == {"avg_pool": {"forward": "pass"}} and not body["conformant"]
    merged = ndpool(tmp_path, "report", "merge", "r.json")
    assert merged.returncode == EXIT_SETUP, _lines(merged)
    assert "1 cell(s) of the selection are in no report (e.g. max_pool/forward)" in merged.stdout
    _resume_and_merge(tmp_path)  # the seed is the report's
    # a report of another run is refused, in one line
    other = ndpool(tmp_path, *HANGING, "--seed", "2", "--resume", "r.json")
    assert other.returncode == EXIT_SETUP, _lines(other)
    assert "--resume: the reports are of different runs: seed differs (this run: 2; r.json: 1)" in (
        other.stdout
    )


def test_a_run_killed_outright_leaves_a_report_to_resume_from(tmp_path):
    """The JSON report is written after every finished cell, as an interrupted run's: a
    run killed with no chance to write it (SIGKILL, a machine taken away) leaves its
    finished cells, and --resume goes on from them."""
    _stopped_after_one_cell(tmp_path, lambda run: os.killpg(run.pid, signal.SIGKILL))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["meta"]["cells"] == ["avg_pool/forward"], report["meta"]
    assert report["meta"]["interrupted"] == ["max_pool/forward"]
    assert next(iter(report["targets"].values()))["cells"] == {"avg_pool": {"forward": "pass"}}
    assert not (tmp_path / "r.json.part").exists()
    _resume_and_merge(tmp_path)


def test_a_crash_is_a_failure_of_its_cell_and_the_matrix_goes_on(tmp_path):
    out = ndpool(
        tmp_path, "check", "--target", "broken_targets:aborts", "--op", "max_pool", "avg_pool",
        "--property", "forward", "--seed", "1", "-v",
    )  # fmt: skip
    assert out.returncode == EXIT_NOT_CONFORMANT, _lines(out)
    assert "the target crashed the process (signal SIGABRT) in forward of max_pool(" in out.stdout
    assert "reproducer:" in out.stdout
    assert re.search(r"^avg_pool\s+pass\s*$", out.stdout, re.M), _lines(out)


def test_a_failure_prints_a_replay_line_that_replays_it(tmp_path):
    args = ["--target", "broken_targets:last_tie", "--op", "max_pool", "--property", "indices"]
    out = ndpool(tmp_path, "check", *args, "-v")  # a random seed, printed
    assert out.returncode == EXIT_NOT_CONFORMANT, _lines(out)
    replays = re.findall(r"^replay: ndpool (check .*)$", out.stdout, re.M)
    assert len(replays) == 1 and "--seed " in replays[0], _lines(out)
    again = ndpool(tmp_path, *shlex.split(replays[0]), "-v")
    assert again.returncode == EXIT_NOT_CONFORMANT, _lines(again)
    first = out.stdout[out.stdout.index("FAIL:") : out.stdout.index("replay:")]
    assert first in again.stdout  # the same failure, the same minimal example


def test_values_print_plainly(tmp_path):
    out = ndpool(
        tmp_path, "check", "--target", "broken_targets:last_tie", "--op", "max_pool",
        "--property", "forward", "--seed", "1",
    )  # fmt: skip
    assert out.returncode == EXIT_NOT_CONFORMANT, _lines(out)
    assert "FAIL: max_pool / forward" in out.stdout
    assert not re.search(r"np\.(float|u?int|bool)\w*\(", out.stdout), _lines(out)


def test_a_conforming_run_is_quiet(tmp_path):
    out = ndpool(tmp_path, "check", "--op", "max_pool", "--seed", "1")
    assert out.returncode == EXIT_CONFORMANT, _lines(out)
    assert out.stderr == "", out.stderr
    assert "Warning" not in out.stdout and "Traceback" not in out.stdout
    assert out.stdout.rstrip().splitlines()[-2] == "CONFORMANT (apart from known deviations)"


def test_command_line_basics(tmp_path):
    version = ndpool(tmp_path, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith(f"ndpool {importlib.metadata.version('ndpool')}")
    targets = ndpool(tmp_path, "--list-targets")
    assert targets.returncode == 0 and re.search(r"^ndpool\.impl\s", targets.stdout, re.M)
    props = ndpool(tmp_path, "--list-properties")
    assert props.returncode == 0 and re.search(r"^invalid_config\s", props.stdout, re.M)
    bare = ndpool(tmp_path)
    assert bare.returncode == EXIT_USAGE and "usage: ndpool" in bare.stdout
    helptext = ndpool(tmp_path, "check", "--help").stdout
    assert "exit status:" in helptext and ":param" not in helptext and "``" not in helptext
    for profile in ("quick", "ci", "thorough"):
        assert f"{profile}: " in helptext


_THREADS = (
    "import os, sys\n"
    "from ndpool.conformance.gate import size_thread_pools\n"
    "size_thread_pools(int(sys.argv[1]))\n"
    "import torch\n"
    "print(torch.get_num_threads(), os.environ['TF_NUM_INTRAOP_THREADS'])\n"
)


@pytest.mark.parametrize("jobs", [1, 2, 64])
def test_workers_share_the_cores_out(jobs):
    """A worker's torch (and the pools sized by environment) get the cores over the
    workers, at least one each; a variable the user set is kept."""
    import os
    import subprocess
    import sys

    pytest.importorskip("torch")
    from ndpool.conformance.gate import THREAD_VARIABLES, worker_threads

    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    want = max(1, cores // jobs)
    assert worker_threads(jobs) == want
    run = [sys.executable, "-c", _THREADS, str(jobs)]
    out = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(want), str(want)]
    env["TF_NUM_INTRAOP_THREADS"] = "7"
    out = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(want), "7"]


def test_the_progress_line_counts_the_examples_of_a_running_cell(monkeypatch):
    """A cell can run for an hour (a compiler target at the thorough profile): the progress
    line says how many examples the running cell has begun, from the worker's heartbeat."""
    from ndpool.conformance import gate

    monkeypatch.setattr(gate, "PROGRESS_EVERY", 0.5)
    monkeypatch.syspath_prepend(str(cli_run.FIXTURES))
    monkeypatch.setenv("PYTHONPATH", str(cli_run.FIXTURES))
    cfg = gate.GateConfig(
        target="broken_targets:slow_examples", ops=["max_pool"], properties=["forward"], seed=0
    )
    lines = []
    assert gate.check(cfg, out=lines.append) == EXIT_CONFORMANT, lines
    counts = [
        int(n) for line in lines for n in re.findall(r"max_pool/forward \((\d+) drawn\)", line)
    ]
    assert len(counts) >= 2 and counts == sorted(counts) and counts[0] > 0, lines
