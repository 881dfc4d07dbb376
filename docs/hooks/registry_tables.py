"""The known-deviation registries as tables: ``<!-- ndpool:registry TARGET -->`` on the
deviations page becomes the table of ``conformance/targets/deviations/TARGET.toml``, each
entry with its kind, cells, scope, the first sentence of its reason and its reproducer,
so the page cannot drift from the registry the suite uses."""

from __future__ import annotations

import re

from ndpool.conformance.deviations import tomllib
from ndpool.conformance.targets.base import DEVIATIONS_DIR


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.search(r"^(.+?[.;:])(\s|$)", flat)
    return (match.group(1) if match else flat).replace("|", "\\|")


def _names(value) -> str:
    values = value if isinstance(value, list) else [value]
    return ", ".join("all" if v == "*" else v for v in values)


def _scope(scope: dict) -> str:
    return ", ".join(f"`{k}`: {v}" for k, v in scope.items()).replace("|", "\\|") or "—"


def markdown(target: str, repro: str) -> str:
    """The table of ``target``'s registry; ``repro``: the reproducers' folder, relative to
    the page."""
    data = tomllib.loads((DEVIATIONS_DIR / f"{target}.toml").read_text())
    rows = ["| id | kind | op | properties | scope | what it does |", "|---|---|---|---|---|---|"]
    for e in data.get("deviation", []):
        kind = "deviation, `skip`" if e.get("skip") else "deviation"
        link = f"[`{e['id']}`]({repro}/{target}-{e['id']}.py)"
        rows.append(
            f"| {link} | {kind} | {_names(e['op'])} | {_names(e['property'])} | "
            f"{_scope(e.get('scope', {}))} | {_first_sentence(e['reason'])} |"
        )
    for e in data.get("convention", []):
        link = f"[`{e['id']}`]({repro}/{target}-{e['id']}.py)"
        rows.append(
            f"| {link} | convention | {e['op']} | — | `{e['option']} = {e['value']}` | "
            f"{_first_sentence(e['reason'])} |"
        )
    if len(rows) == 2:
        return f"`{target}.toml` registers nothing."
    return "\n".join(rows)
