"""Running the ``ndpool`` CLI in a subprocess for the tests that check it end to end, with
the fixture targets of ``fixtures/`` importable (``--target module:attr``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def ndpool(cwd, *args, timeout=300) -> subprocess.CompletedProcess:
    """``python -m ndpool.conformance.cli ARGS`` in ``cwd``, output captured."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")])
    )
    cmd = [sys.executable, "-m", "ndpool.conformance.cli", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def tail(out: subprocess.CompletedProcess) -> str:
    """The end of a run's output, for an assertion message."""
    return (out.stdout + out.stderr)[-4000:]
