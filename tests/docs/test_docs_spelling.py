"""Spelling of the documentation site, checked with codespell.

codespell flags words from its lists of common misspellings (it is not a dictionary
check, so it has no false alarms on names): every page and hook under docs/, mkdocs.yml,
and the spec's sources, whose docstrings the site renders. British spellings are the
project's own. A word it flags that is right here goes into spelling-words.txt next to
this file (one lower-case word a line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORDS = Path(__file__).with_name("spelling-words.txt")
CHECKED = ("docs", "mkdocs.yml", "spec")
# what codespell reads: its lists of clear, rare, informal and usage misspellings and of
# misspellings common in code; never the vendored MathJax or binary files
OPTIONS = (
    "--builtin",
    "clear,rare,informal,usage,code",
    "--ignore-words",
    str(WORDS),
    "--skip",
    "*.js,*.woff,*.png,*.pyc,SOURCE.txt,LICENSE",
    "--check-filenames",
)


def _codespell(*paths: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "codespell_lib", *OPTIONS, *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_docs_spelling():
    proc = _codespell(*CHECKED)
    assert proc.returncode == 0, (
        f"codespell found misspellings (fix them, or add a word that is right to "
        f"{WORDS.relative_to(ROOT)}):\n{proc.stdout}{proc.stderr}"
    )


def test_docs_spelling_check_fails_on_a_misspelling(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("The spec recieves teh input.\n", encoding="utf-8")
    proc = _codespell(page)
    assert proc.returncode != 0, "codespell passed a page with two misspellings"
    assert "recieves" in proc.stdout and "teh" in proc.stdout, proc.stdout


def test_docs_spelling_word_list_is_sorted_and_lower_case():
    words = WORDS.read_text(encoding="utf-8").split()
    assert words == sorted(set(w.lower() for w in words)), (
        f"{WORDS.name}: keep one lower-case word a line, sorted, no duplicates"
    )
