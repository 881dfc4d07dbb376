"""The strict build's checks fail when they should: a tiny site that inherits the project's
mkdocs.yml (its strict mode, validation settings, Markdown extensions and spelling hook)
builds clean, and each defect alone (a link to a missing page, a link to a missing
anchor, a page left out of the nav, a misspelt word) fails it with its own message.

Each build is two small pages in a temporary folder, about a second; the generating hook
(docs/hooks/ndpool_docs.py) and mkdocstrings are left out, so only the checks are tried.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

ROOT = Path(__file__).resolve().parents[2]

CONFIG = f"""\
INHERIT: {ROOT / "mkdocs.yml"}
site_name: strict-check
docs_dir: docs
hooks:
  - {ROOT / "docs" / "hooks" / "spelling.py"}
plugins:
  - search
nav:
  - index.md
  - other.md
extra_javascript: []
extra_css: []
"""
INDEX = "# Home\n\nSee [the section](other.md#a-section) of the other page.\n"
OTHER = "# Other\n\n## A section\n\nThe window is read once.\n"

#: defect -> (the pages that differ from the clean site, a phrase of the expected warning)
DEFECTS = {
    "missing page": (
        {"index.md": INDEX + "\nAnd [a page](missing.md).\n"},
        "contains a link 'missing.md', but the target is not found",
    ),
    "missing anchor": (
        {"index.md": INDEX.replace("#a-section", "#no-such-section")},
        "does not contain an anchor '#no-such-section'",
    ),
    "page not in the nav": (
        {"orphan.md": "# Orphan\n"},
        'are not included in the "nav" configuration',
    ),
    "misspelling": (
        {"other.md": OTHER.replace("read once", "recieved once")},
        "spelling: other.md: recieved ==> received",
    ),
}


class _Log(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


def _build(tmp_path: Path, pages: dict[str, str]) -> tuple[bool, str]:
    """Build the tiny site with ``pages`` in place of the clean ones, in this process (a
    fraction of a second); whether it passed, and its warnings and errors."""
    (tmp_path / "mkdocs.yml").write_text(CONFIG, encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in {"index.md": INDEX, "other.md": OTHER, **pages}.items():
        (docs / name).write_text(text, encoding="utf-8")
    log, logger = _Log(), logging.getLogger("mkdocs")
    logger.addHandler(log)
    try:
        config = load_config(str(tmp_path / "mkdocs.yml"), site_dir=str(tmp_path / "site"))
        build(config)
        passed = True
    except Abort as exc:
        passed = False
        log.lines.append(f"Abort {exc}")
    finally:
        logger.removeHandler(log)
    return passed, "\n".join(log.lines)


def test_docs_strict_build_of_a_clean_site_passes(tmp_path):
    passed, log = _build(tmp_path, {})
    assert passed and not log, f"the clean tiny site failed:\n{log}"


@pytest.mark.parametrize("defect", DEFECTS)
def test_docs_strict_build_fails_on(defect, tmp_path):
    pages, expected = DEFECTS[defect]
    passed, log = _build(tmp_path, pages)
    assert not passed, f"{defect}: the strict build passed:\n{log}"
    assert "Aborted with 1 warnings in strict mode" in log, f"{defect}: not one warning:\n{log}"
    assert expected in log, f"{defect}: expected a warning with {expected!r}, got:\n{log}"


def test_docs_project_build_runs_the_spelling_hook():
    """The tiny site names the spelling hook itself; the project's build must run it too."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    hooks = config.split("\nhooks:\n", 1)[1].split("\n\n", 1)[0]
    assert "  - docs/hooks/spelling.py" in hooks.splitlines(), (
        f"mkdocs.yml's hooks do not include docs/hooks/spelling.py:\n{hooks}"
    )
