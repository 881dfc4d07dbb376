"""Spelling of the text that reaches a reader, checked with codespell.

codespell flags words from its lists of common misspellings (it is not a dictionary
check, so it has no false alarms on names). The strict build checks every rendered page
(docs/hooks/spelling.py, whose options and word list these tests share; a build test in
test_docs_strict_checks.py shows it failing); here the sources are checked: every page
and hook under docs/, mkdocs.yml, the spec's sources (whose docstrings the site renders),
the command-line modules whose help and messages reach the terminal and the site, and
the deviation registries (their reasons are tables on the deviations page). British
spellings are the project's own. A word it flags that is right here goes into
spelling-words.txt next to this file (one lower-case word a line)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "docs" / "hooks" / "spelling.py"
_spec = importlib.util.spec_from_file_location("ndpool_docs_spelling", HOOK)
spelling = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(spelling)

WORDS = spelling.WORDS
CHECKED = (
    "docs",
    "mkdocs.yml",
    "spec",
    "conformance/cli.py",
    "conformance/gate.py",
    "conformance/merge.py",
    "conformance/fuzz.py",
    *sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "conformance/targets/deviations").glob("*.toml")
    ),
)


def test_docs_spelling():
    proc = spelling.codespell(*CHECKED)
    assert proc.returncode == 0, (
        f"codespell found misspellings (fix them, or add a word that is right to "
        f"{WORDS.relative_to(ROOT)}):\n{proc.stdout}{proc.stderr}"
    )


def test_docs_spelling_checks_the_registries_and_the_cli():
    registries = [c for c in CHECKED if c.endswith(".toml")]
    assert len(registries) >= 5, f"expected the deviation registries, found {registries}"
    assert all((ROOT / c).exists() for c in CHECKED), [
        c for c in CHECKED if not (ROOT / c).exists()
    ]


def test_docs_spelling_check_fails_on_a_misspelling(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("The spec recieves teh input.\n", encoding="utf-8")
    proc = spelling.codespell(page)
    assert proc.returncode != 0, "codespell passed a page with two misspellings"
    assert "recieves" in proc.stdout and "teh" in proc.stdout, proc.stdout


def test_docs_spelling_hook_reads_the_rendered_text():
    """The build's check sees the words of a page as a reader does: in docstrings and code
    blocks too, not in tags, attributes or scripts."""
    content = (
        '<p>The <a href="#recieve">spec</a> pools.</p><script>var teh = 1;</script>'
        '<div class="doc"><pre><code><span class="n">occured</span></code></pre></div>'
        "<p>an &amp; adress</p>"
    )
    text = spelling.page_text(content)
    found = spelling.misspellings({"page.md": text})
    words = sorted(f.split(": ")[1].split(" ==>")[0] for f in found)
    assert words == ["adress", "occured"], found
    assert all(f.startswith("page.md: ") for f in found), found


def test_docs_spelling_word_list_is_sorted_and_lower_case():
    words = WORDS.read_text(encoding="utf-8").split()
    assert words == sorted(set(w.lower() for w in words)), (
        f"{WORDS.name}: keep one lower-case word a line, sorted, no duplicates"
    )
