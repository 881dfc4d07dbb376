"""The constraints page, generated from ``ndpool.spec.CONSTRAINTS`` and the spec's source.

Each constraint gets its own anchor (``constraints.md#c6``), its text from the
table, and the functions that enforce it: every ``fail("Cn", ...)`` /
``ConstraintError("Cn", ...)`` call found in the spec's modules by reading their
syntax trees, so the list cannot go stale.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import ndpool.spec
from ndpool.spec import CONSTRAINTS

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
        "with the constraint's id, e.g. `C6: padding (begin 3, end 3) on axis 0 exceeds half the",
        "effective kernel ...`; `error.constraint` holds the id.",
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
    lines.append("")
    return "\n".join(lines)
