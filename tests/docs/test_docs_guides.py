"""The guides' commands and files match the code: every ``ndpool check``, ``ndpool fuzz``
and ``ndpool report merge`` command line in docs/guides/ parses with the CLI's own parser
(a workflow's ``${{ ... }}`` expressions and a shell's ``$(...)`` read as values), and
every deviation registry (TOML block) loads with the suite's own loader."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

GUIDES = sorted((Path(__file__).resolve().parents[2] / "docs" / "guides").glob("*.md"))
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)
COMMAND = re.compile(r"ndpool (check|fuzz|report merge)\b")
#: what a workflow or a shell fills in at run time, and a value that parses in its place
FILLED_IN = re.compile(r"\$\{\{[^}]*\}\}|\$\(\w+\)")


def _blocks(lang: str) -> list[tuple[str, str]]:
    return [
        (path.name, body)
        for path in GUIDES
        for found_lang, body in FENCE.findall(path.read_text(encoding="utf-8"))
        if found_lang == lang
    ]


def _check_commands() -> list[tuple[str, list[str]]]:
    commands = []
    for lang in ("bash", "yaml"):
        for name, body in _blocks(lang):
            text = FILLED_IN.sub("1", body.replace("\\\n", " "))
            for line in text.splitlines():
                words = shlex.split(line, comments=True) if COMMAND.search(line) else []
                if "ndpool" not in words:
                    continue
                at = words.index("ndpool")
                if all("=" in w for w in words[:at]):  # a command, maybe after VAR=value
                    commands.append((name, words[at + 1 :]))
    return commands


@pytest.mark.parametrize(("guide", "argv"), _check_commands())
def test_docs_guide_command_parses(guide, argv):
    from ndpool.conformance.cli import build_parser

    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on an unknown or malformed option
        raise AssertionError(f"{guide}: `ndpool {' '.join(argv)}` does not parse") from exc


@pytest.mark.parametrize(
    ("guide", "toml"), _blocks("toml"), ids=lambda v: v if v.endswith(".md") else "toml"
)
def test_docs_guide_deviation_registry_loads(guide, toml, tmp_path):
    from ndpool.conformance.deviations import Registry

    path = tmp_path / "deviations.toml"
    path.write_text(toml, encoding="utf-8")
    registry = Registry.load("guide", path)
    assert registry.entries, f"{guide}: the TOML block holds no [[deviation]] entry"


def test_docs_guides_have_check_commands():
    assert _check_commands(), "no `ndpool check` command found in docs/guides/"
