"""`ndpool fuzz`: HypoFuzz, run for a bounded time on a mutant with a planted bug, finds
the bug and stores it under the cell's key, and the next `ndpool check` of the same
database replays it as its first example; HypoFuzz's keys are mapped onto the check's."""

from __future__ import annotations

import doctest
import re

import cli_run
import pytest

from ndpool.conformance import fuzz_plugin
from ndpool.conformance.fuzz import FuzzConfig
from ndpool.conformance.gate import EXIT_NOT_CONFORMANT, EXIT_SETUP

CELL = ["--op", "avg_pool", "--property", "permutation_equivariance"]
TARGET = ["--target", "campaign_targets:layout_confused"]


def ndpool(cwd, *args, timeout=180):
    return cli_run.ndpool(cwd, *args, timeout=timeout)


def test_key_mapped_database_doctests():
    result = doctest.testmod(fuzz_plugin, verbose=False)
    assert result.failed == 0 and result.attempted > 0


def test_fuzz_command_line_runs_hypothesis_fuzz_on_the_suite():
    cfg = FuzzConfig(target="torch", ops=["max_pool"], db="redis://h:1", jobs=2, dashboard=False)
    cmd = cfg.command()
    assert cmd[cmd.index("fuzz") + 1 : cmd.index("fuzz") + 3] == ["-n", "2"]
    assert "--no-dashboard" in cmd
    pytest_args = cmd[cmd.index("--") + 1 :]
    assert pytest_args[:2] == ["-p", "ndpool.conformance.fuzz_plugin"]
    assert ["--pyargs", "ndpool.conformance.fuzz_suite"] == pytest_args[4:6]
    assert "redis://h:1" in pytest_args and "torch" in pytest_args


def test_fuzz_setup_errors_exit_3(tmp_path):
    out = ndpool(tmp_path, "fuzz", "--op", "maxpool", "--no-dashboard", "--seconds", "5")
    assert out.returncode == EXIT_SETUP, cli_run.tail(out)
    assert out.stdout.startswith("ndpool fuzz: set-up error: unknown op(s) ['maxpool']")


def test_fuzz_finds_a_planted_bug_and_the_next_check_replays_it(tmp_path):
    pytest.importorskip("hypofuzz", reason="HypoFuzz is not installed (the campaign extra)")
    db = str(tmp_path / "db")
    args = ["--db", db, "--seconds", "60", "--progress", "1", "--no-dashboard"]
    out = ndpool(tmp_path, "fuzz", *TARGET, *CELL, *args)
    assert out.returncode == EXIT_NOT_CONFORMANT, cli_run.tail(out)
    # a progress line every second until the failure is found (its count, at the end)
    line = r"^\[fuzz \S+\] 1 cells, (\d+) inputs reported, ([01]) with"
    progress = re.findall(line, out.stdout, re.M)
    assert progress, cli_run.tail(out)
    assert "ndpool fuzz: every cell has a new failure after" in out.stdout, cli_run.tail(out)
    assert "FAIL: avg_pool / permutation_equivariance" in out.stdout
    assert "permutation equivariance (batch order" in out.stdout  # the replayed message
    assert "1 new" in out.stdout
    # the next check, with another seed, replays the failure HypoFuzz stored, first
    check = ndpool(tmp_path, "check", *TARGET, *CELL, "--db", db, "--seed", "2", "-v")
    assert check.returncode == EXIT_NOT_CONFORMANT, cli_run.tail(check)
    assert "found at drawn example 1 (the example database held " in check.stdout, cli_run.tail(
        check
    )
