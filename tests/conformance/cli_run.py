"""Running the ``ndpool`` CLI in a subprocess for the tests that check it end to end, with
the fixture targets of ``fixtures/`` importable (``--target module:attr``)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str):
    """The fixture module ``name`` of ``fixtures/``, imported in this process."""
    if str(FIXTURES) not in sys.path:
        sys.path.insert(0, str(FIXTURES))
    return importlib.import_module(name)


def _command(args) -> tuple[list[str], dict]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")])
    )
    return [sys.executable, "-u", "-m", "ndpool.conformance.cli", *args], env


def ndpool(cwd, *args, timeout=300) -> subprocess.CompletedProcess:
    """``python -m ndpool.conformance.cli ARGS`` in ``cwd``, output captured."""
    cmd, env = _command(args)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def start_ndpool(cwd, *args) -> subprocess.Popen:
    """The same, started (unbuffered, in a process group of its own, as a shell starts a
    command: a test can send the group a signal as a terminal's Ctrl-C does)."""
    cmd, env = _command(args)
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def tail(out: subprocess.CompletedProcess) -> str:
    """The end of a run's output, for an assertion message."""
    return (out.stdout + out.stderr)[-4000:]
