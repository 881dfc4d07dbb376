"""Griffe extension: render the spec's reST-flavoured docstrings as Markdown.

The spec's docstrings are written for ``help()`` and doctest, not for a renderer:
they hold doctest blocks (``>>>``), reST literal blocks (a paragraph ending in
``::`` followed by an indented block) and reST roles (``:class:`Name```). This
extension rewrites those three constructs when griffe loads an object, so
mkdocstrings shows them as Python console blocks, code blocks and inline code.
The spec's source is never changed; the doctests keep running from it.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|obj|exc):`(~?)([^`]+)`")


def _role(match: re.Match) -> str:
    """``:class:`~a.b.C``` -> `` `C` ``; without ``~`` the full target is kept."""
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _fence(lines: list[str], lang: str, indent: int, strip: int) -> list[str]:
    """``lines`` less ``strip`` leading characters, fenced as ``lang`` at ``indent``."""
    pad = " " * indent
    body = [ln[strip:] if ln.strip() else "" for ln in lines]
    while body and not body[-1]:
        body.pop()
    return [f"{pad}```{lang}", *(pad + ln if ln else "" for ln in body), f"{pad}```"]


def to_markdown(text: str) -> str:
    """Rewrite doctest blocks, ``::`` literal blocks and reST roles as Markdown."""
    text = ROLE.sub(_role, text)
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(">>>"):
            # a doctest block runs to the next blank line
            j = i
            while j < len(lines) and lines[j].strip():
                j += 1
            out.extend(_fence(lines[i:j], "pycon", _indent(line), _indent(line)))
            i = j
            continue
        if stripped.endswith("::") and i + 1 < len(lines) and not lines[i + 1].strip():
            # a reST literal block: the following lines indented deeper than this one
            base = _indent(line)
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            k = j
            while k < len(lines) and (not lines[k].strip() or _indent(lines[k]) > base):
                k += 1
            if k > j:
                head = line.rstrip()[:-2].rstrip()
                if head:
                    out.extend([head + ":", ""])
                block = lines[j:k]
                inner = min(_indent(ln) for ln in block if ln.strip())
                out.extend(_fence(block, "text", base, inner))
                out.append("")
                i = k
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


class ReSTDocstringsToMarkdown(griffe.Extension):
    """Rewrite every loaded object's docstring with :func:`to_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
