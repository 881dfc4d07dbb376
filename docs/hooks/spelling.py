"""MkDocs hook: a misspelt word on the site is a build warning, so ``mkdocs build --strict``
fails on it.

Every page's content is checked as rendered, after the other hooks and mkdocstrings have
run: the hand-written text, the generated pages and tables, the docstrings, the
command-line help. The text (tags dropped, entities decoded) goes to codespell
(https://github.com/codespell-project/codespell), which flags words from its lists of
common misspellings (it is not a dictionary check, so names raise no false
alarm). A word it flags that is right here goes into ``tests/docs/spelling-words.txt``
(one lower-case word a line), which ``tests/docs/test_docs_spelling.py`` shares with this
hook: that test runs the same check over the sources (``docs/``, ``spec/``, the CLI
modules, the deviation registries).
"""

from __future__ import annotations

import html
import logging
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORDS = ROOT / "tests" / "docs" / "spelling-words.txt"
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
#: ``path:line: word ==> suggestion`` (codespell's report of one misspelling)
FINDING = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<word>.+?) ==> (?P<fix>.+)$")
#: elements whose text is not the page's (scripts, styles) and tags that end a line
HIDDEN = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
BLOCK_END = re.compile(r"<(?:br|hr)\b[^>]*>|</(?:p|li|tr|td|th|div|pre|h\d|dt|dd)\s*>", re.I)
TAG = re.compile(r"<[^>]+>")

log = logging.getLogger("mkdocs.hooks.spelling")
_pages: dict[str, str] = {}


def codespell(*paths: str | Path) -> subprocess.CompletedProcess:
    """codespell over ``paths`` with the site's options and word list."""
    return subprocess.run(
        [sys.executable, "-m", "codespell_lib", *OPTIONS, *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def page_text(content: str) -> str:
    """The text a reader sees in a page's HTML content, a line per block."""
    text = BLOCK_END.sub("\n", HIDDEN.sub("", content))
    return html.unescape(TAG.sub("", text))


def misspellings(pages: dict[str, str]) -> list[str]:
    """One line per misspelling in ``pages`` (source path -> text): the page, the word,
    codespell's suggestion and the line it is on."""
    if not pages:
        return []
    with tempfile.TemporaryDirectory(prefix="ndpool-spelling-") as tmp:
        names = {}
        for i, (uri, text) in enumerate(sorted(pages.items())):
            path = Path(tmp) / f"page{i}.txt"
            path.write_text(text, encoding="utf-8")
            names[str(path)] = uri
        proc = codespell(*names)
    if proc.returncode not in (0, 65):  # 65: misspellings found
        return [f"codespell failed (exit {proc.returncode}): {proc.stderr.strip()}"]
    found = []
    for line in proc.stdout.splitlines():
        match = FINDING.match(line)
        if match is None or match["path"] not in names:
            continue
        uri = names[match["path"]]
        context = pages[uri].splitlines()[int(match["line"]) - 1].strip()
        found.append(f"{uri}: {match['word']} ==> {match['fix']} (in: {context[:120]})")
    return found


def on_config(config):
    _pages.clear()  # mkdocs serve rebuilds: check this build's pages only
    return config


def on_page_content(content: str, page, config, files) -> str:
    _pages[page.file.src_uri] = page_text(content)
    return content


def on_post_build(config) -> None:
    for finding in misspellings(_pages):
        log.warning(
            f"spelling: {finding}; fix it, or add a word that is right to {WORDS.relative_to(ROOT)}"
        )
