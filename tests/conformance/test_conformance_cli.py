"""`ndpool check` end to end (in a subprocess): exit status, a module:attribute target,
a deviation registry that forgives exactly the failures it scopes, reports."""

import json
import os
import subprocess
import sys

import pytest

TARGET_MODULE = """
from ndpool.conformance.tools.mutants import MUTANTS

def last_tie():
    return MUTANTS["max-last-tie"].target()
"""

DEVIATIONS = """
[[deviation]]
id = "last-tie"
property = ["forward", "indices", "jvp", "vjp"]
op = "max_pool"
reason = "this target keeps the last maximizer (so +0.0 after -0.0, a different value)"
"""


def _check(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [
        sys.executable,
        "-m",
        "ndpool.conformance.cli",
        "check",
        "--op",
        "max_pool",
        "--seed",
        "1",
        *args,
    ]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "my_target.py").write_text(TARGET_MODULE)
    (tmp_path / "devs.toml").write_text(DEVIATIONS)
    return tmp_path


def test_conforming_target_exits_0(workdir):
    out = _check(workdir, "--target", "ndpool.spec", "--report", "r.json")
    assert out.returncode == 0, out.stdout[-3000:]
    report = json.loads((workdir / "r.json").read_text())
    assert report["targets"]["ndpool.spec"]["conformant"]
    assert "CONFORMANT" in out.stdout


def test_broken_target_exits_1_and_deviation_forgives_it(workdir):
    out = _check(workdir, "--target", "my_target:last_tie", "--junit-xml", "j.xml")
    assert out.returncode == 1, out.stdout[-3000:]
    # one line per failure by default, its counterexample in full with -v and in reports
    assert "NOT CONFORMANT" in out.stdout and "reproducer:" not in out.stdout
    assert "reproducer:" in (workdir / "j.xml").read_text()
    out = _check(workdir, "--target", "my_target:last_tie", "-v")
    assert out.returncode == 1 and "reproducer:" in out.stdout, out.stdout[-3000:]
    out = _check(
        workdir, "--target", "my_target:last_tie", "--deviations", "devs.toml", "--report", "r.md"
    )
    assert out.returncode == 0, out.stdout[-3000:]
    assert "known deviations hit: last-tie" in out.stdout
    assert "| max_pool | dev | dev |" in (workdir / "r.md").read_text()
