"""The constraints page, generated from ``ndpool.spec.CONSTRAINTS`` and the spec's source.

Each constraint gets its own anchor (``constraints.md#c5``), its text from the
table, and the functions that enforce it: every ``fail("Cn", ...)`` /
``ConstraintError("Cn", ...)`` call found in the spec's modules by reading their
syntax trees, so the list cannot go stale. Then the capability limits a target may declare
(``CAPABILITY_LIMITS``: C6, never raised by the spec) and, from the op records, what every
op gives for a window with no real cell (``Op.empty_window``).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import ndpool.spec
from ndpool.spec import CONSTRAINTS, OPS
from ndpool.spec.constraints import CAPABILITY_LIMITS

CONSTRAINT_ID = re.compile(r"C\d+")


def enforcement_sites() -> dict[str, list[str]]:
    """``{"C6": ["ndpool.spec.geometry.sliding_geometry", ...]}`` from the spec's source."""
    sites: dict[str, list[str]] = defaultdict(list)
    for folder in ndpool.spec.__path__:
        for path in sorted(Path(folder).glob("*.py")):
            module = f"ndpool.spec.{path.stem}"
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for func in ast.walk(tree):
                if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for call in ast.walk(func):
                    if not isinstance(call, ast.Call):
                        continue
                    for arg in [*call.args, *(kw.value for kw in call.keywords)]:
                        if isinstance(arg, ast.Constant) and CONSTRAINT_ID.fullmatch(
                            str(arg.value)
                        ):
                            where = f"{module}.{func.name}"
                            if where not in sites[arg.value]:
                                sites[arg.value].append(where)
    return sites


def _key(cid: str) -> tuple[str, int]:
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", cid)
    return (m.group(1), int(m.group(2))) if m else (cid, 0)


def markdown() -> str:
    sites = enforcement_sites()
    lines = [
        "# Constraints",
        "",
        "Every configuration an op accepts satisfies these numbered constraints. A call that",
        "breaks one raises `ndpool.spec.ConstraintError` (a `ValueError`) whose message starts",
        "with the constraint's id, e.g. `C8: output extent 0 on axis 0: input 2 + padding (0, 0)",
        "is shorter than the effective kernel 3 ...`; `error.constraint` holds the id.",
        "",
        "!!! note",
        "    This page is generated at build time from `ndpool.spec.CONSTRAINTS` (the text) and",
        "    from the spec's source (the functions that raise each one).",
        "",
        "| id | constraint | enforced in |",
        "|---|---|---|",
    ]
    for cid in sorted(CONSTRAINTS, key=_key):
        where = "<br>".join(f"`{s}`" for s in sites.get(cid, [])) or "—"
        text = CONSTRAINTS[cid].replace("|", "\\|")
        lines.append(f'| <span id="{cid.lower()}"></span>**{cid}** | {text} | {where} |')
    unknown = sorted(set(sites) - set(CONSTRAINTS))
    if unknown:
        raise ValueError(f"the spec raises constraint ids missing from CONSTRAINTS: {unknown}")
    lines += [
        "",
        "## Capability limits",
        "",
        "Not constraints: the spec accepts every configuration past them. A framework that",
        "rejects more than the spec declares the limit as its conformance target's capability",
        "(`Capabilities.padding_limit`, see [targets](../conformance/targets.md)) and is never",
        "drawn a configuration past it. The id of a former constraint is kept for its limit.",
        "",
        "| id | limit |",
        "|---|---|",
    ]
    for cid in sorted(CAPABILITY_LIMITS, key=_key):
        text = CAPABILITY_LIMITS[cid].replace("|", "\\|")
        lines.append(f'| <span id="{cid.lower()}"></span>**{cid}** | {text} |')
    lines += [
        "",
        "## Empty windows",
        "",
        "Any padding >= 0 is valid (C5), so a window may lie wholly in the padding; with",
        "dilation its taps may also all miss the input. Such a window has no real cell. What it",
        "gives, value and derivatives, is part of every op's definition (its record's",
        "`empty_window`; `tests/spec/test_spec_empty_windows.py` holds every op to it):",
        "",
        "| op | a window with no real cell |",
        "|---|---|",
    ]
    for name, op in OPS.items():
        text = " ".join(op.empty_window.split()).replace("|", "\\|")
        lines.append(f"| `{name}` | {text} |")
    lines.append("")
    return "\n".join(lines)
