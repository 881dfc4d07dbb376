"""The documentation site builds with ``mkdocs build --strict`` (warnings are errors).

This is how CI builds the docs: the build runs the hooks in docs/hooks/ (generated
constraints and conventions pages, window diagrams drawn from the spec's geometry)
and renders the spec's docstrings with mkdocstrings, so a broken link, a missing
page or a docstring griffe cannot load fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ndpool.spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
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


def test_docs_build_strict(site):
    assert (site / "index.html").is_file(), "the build wrote no index.html"


def test_docs_constraints_page_lists_every_constraint(site):
    page = (site / "reference" / "constraints" / "index.html").read_text(encoding="utf-8")
    missing = [c for c in ndpool.spec.CONSTRAINTS if f'id="{c.lower()}"' not in page]
    assert not missing, f"constraints without an anchor on the generated page: {missing}"


def test_docs_conventions_page_lists_every_op(site):
    page = (site / "reference" / "conventions" / "index.html").read_text(encoding="utf-8")
    missing = [name for name in ndpool.spec.OPS if f"<code>{name}</code>" not in page]
    assert not missing, f"registered ops missing from the generated conventions page: {missing}"


def test_docs_window_figures_are_built(site):
    figures = sorted((site / "img").glob("geometry-*.png"))
    assert len(figures) >= 5, f"expected the window diagrams under img/, found {figures}"
    assert all(f.stat().st_size > 1000 for f in figures), "an empty or truncated figure"
