"""The griffe extension that turns the spec's reST-flavoured docstrings into Markdown."""

from __future__ import annotations

import importlib.util
from pathlib import Path

HOOK = Path(__file__).resolve().parents[2] / "docs" / "hooks" / "griffe_docstrings.py"
_spec = importlib.util.spec_from_file_location("griffe_docstrings", HOOK)
griffe_docstrings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(griffe_docstrings)
to_markdown = griffe_docstrings.to_markdown


def test_docs_doctest_block_becomes_a_pycon_fence():
    text = "Example.\n\n>>> 1 + 1\n2\n\nAfter."
    assert to_markdown(text) == "Example.\n\n```pycon\n>>> 1 + 1\n2\n```\n\nAfter."


def test_docs_literal_block_becomes_a_text_fence():
    text = "Derivatives::\n\n    dy/dx = 1\n    dy/dp = 0\n\nwith more."
    expected = "Derivatives:\n\n```text\ndy/dx = 1\ndy/dp = 0\n```\n\nwith more."
    assert to_markdown(text) == expected, to_markdown(text)


def test_docs_roles_become_inline_code():
    text = "raises :class:`ConstraintError`; see :data:`~ndpool.spec.CONSTRAINTS`."
    assert to_markdown(text) == "raises `ConstraintError`; see `CONSTRAINTS`."
