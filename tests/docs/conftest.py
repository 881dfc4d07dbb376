"""The documentation site, built once per test session for every test in tests/docs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def build_site(out: Path) -> Path:
    """``mkdocs build --strict`` into ``out``; fails the test on any warning or error
    (a broken link or anchor, a page missing from the nav, a docstring griffe cannot load)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    warnings = [line for line in log.splitlines() if re.match(r"\s*(WARNING|ERROR)\b", line)]
    assert proc.returncode == 0 and not warnings, (
        f"mkdocs build --strict failed (exit {proc.returncode}); warnings/errors:\n"
        + "\n".join(warnings or log.splitlines()[-40:])
    )
    return out


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The built site (one strict build shared by the build, spelling and browser tests)."""
    return build_site(tmp_path_factory.mktemp("site"))
