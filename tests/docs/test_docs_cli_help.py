"""The command-line reference on the site is the CLI's own help.

The line ``<!-- ndpool:cli-help -->`` on docs/conformance/running.md becomes the
``--help`` text of every command, generated from ``ndpool.conformance.cli.parsers()``
(``help_texts()``) when the site is built: deleting the marker, or a hook that stops
expanding it, fails here, and so does a page whose help differs from what the terminal
prints at the site's width."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from ndpool.conformance.cli import help_texts

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "docs" / "hooks" / "ndpool_docs.py"
PRE = re.compile(r"<pre\b[^>]*>(.*?)</pre>", re.S)
TAG = re.compile(r"<[^>]+>")


def _help_columns() -> str:
    """The width the hook wraps the help to (``HELP_COLUMNS`` in ndpool_docs.py)."""
    found = re.search(r'^HELP_COLUMNS = "(\d+)"$', HOOK.read_text(encoding="utf-8"), re.M)
    assert found, f"{HOOK.name} no longer sets HELP_COLUMNS"
    return found.group(1)


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    """Each command's help as argparse formats it at the site's width."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", _help_columns())  # argparse wraps to the terminal's width
        return {command: text.rstrip() for command, text in help_texts().items()}


def _code_blocks(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [html.unescape(TAG.sub("", block)).strip() for block in PRE.findall(text)]


COMMANDS = [
    "ndpool --help",
    "ndpool check --help",
    "ndpool report merge --help",
    "ndpool fuzz --help",
]


def test_docs_cli_help_covers_every_command(expected):
    assert list(expected) == COMMANDS, f"cli.help_texts() has {list(expected)}, not {COMMANDS}"


@pytest.mark.parametrize("command", COMMANDS)
def test_docs_running_page_shows_the_generated_help(site, expected, command):
    blocks = _code_blocks(site / "conformance" / "running" / "index.html")
    want = f"$ {command}\n{expected[command]}"
    shown = [b for b in blocks if b.startswith(f"$ {command}\n")]
    assert shown, f"the running page shows no `{command}` block (is <!-- ndpool:cli-help --> gone?)"
    assert shown[0] == want, (
        f"the running page's `{command}` differs from cli.help_texts():\n"
        f"--- page\n{shown[0]}\n--- cli\n{want}"
    )


def test_docs_cli_help_is_plain_text_that_fits_a_terminal(monkeypatch):
    """The help is read in a terminal: no Markdown or reST marks, and at 80 columns no line
    is wider, also in the descriptions and epilogs argparse prints as written
    (RawDescriptionHelpFormatter), which must be wrapped by hand."""
    monkeypatch.setenv("COLUMNS", "80")
    for command, text in help_texts().items():
        assert "`" not in text, f"{command}: a backtick in the help text:\n{text}"
        assert not re.search(r":(?:param|mod|func|class):", text), f"{command}: reST in the help"
        long = [line for line in text.splitlines() if len(line) > 80]
        assert not long, f"{command}: lines wider than 80 columns: {long}"
