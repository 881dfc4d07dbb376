"""The JSON reports of the parts of one run (its shards, an interrupted run's finished
cells, a run resumed from them): reading one, and telling whether reports belong to one
run. ``ndpool report merge`` (:mod:`.merge`) combines them; ``ndpool check --resume``
(:func:`.gate.finished_cells`) leaves out the cells they finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .shards import Shard

#: the fields of a report's meta that every shard of one run shares. The cost table the
#: shards were dealt by is not one of them: the shards' cells must partition the matrix,
#: which :func:`.merge.check_fit` checks cell by cell, and one table reached by two paths (or two
#: tables that deal alike) makes no other run
SAME = (
    "target",
    "device",
    "profile",
    "seed",
    "deviations",
    "ops",
    "properties",
    "discover",
    "conventions",
    "unregistered",
)
#: the software the run ran on (:mod:`.provenance`): compared like :data:`SAME` where
#: reports record it (those of ndpool before it did not)
SOFTWARE = "software"


class MergeError(Exception):
    """The reports cannot be merged; the message says why, in one line."""


@dataclass
class PartReport:
    """One part's JSON report: a shard's, an interrupted run's (its finished cells) or a
    resumed run's."""

    path: str
    meta: dict
    name: str  # the target's name in the report
    body: dict  # the report of that target
    shard: Shard
    cells: list[tuple[str, str]]


def read_report(path: str) -> PartReport:
    """The JSON report of ``ndpool check`` at ``path``, or :class:`MergeError`."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise MergeError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MergeError(f"{path} is not JSON ({exc})") from None
    meta = data.get("meta") if isinstance(data, dict) else None
    targets = data.get("targets") if isinstance(data, dict) else None
    needed = (*SAME, "cells")
    if (
        not isinstance(meta, dict)
        or not isinstance(targets, dict)
        or not all(k in meta for k in needed)
    ):
        raise MergeError(
            f"{path} is not the JSON report of an ndpool check run of this version "
            f"(`ndpool check --report FILE.json`; its meta must have {', '.join(needed)})"
        )
    if len(targets) > 1:
        raise MergeError(f"{path} holds {len(targets)} targets, a run's report one")
    name, body = next(iter(targets.items())) if targets else ("", {})
    try:
        shard = Shard.parse(meta["shard"]) if meta.get("shard") else Shard(1, 1)
    except ValueError as exc:
        raise MergeError(f"{path}: shard {exc}") from None
    cells = [tuple(c.split("/", 1)) for c in meta["cells"]]
    return PartReport(str(path), meta, name, body, shard, cells)


def check_same_run(meta: dict, reports: list[PartReport], label: str) -> None:
    """Raise :class:`MergeError` unless every one of ``reports`` is a part of the run
    whose meta is ``meta`` (``label`` in messages): the same :data:`SAME`, and the same
    software where recorded."""
    for field in SAME:
        if any(json.dumps(r.meta.get(field)) != json.dumps(meta.get(field)) for r in reports):
            seen = "; ".join(f"{r.path}: {r.meta.get(field)!r}" for r in reports)
            raise MergeError(
                f"the reports are of different runs: {field} differs ({label}: "
                f"{meta.get(field)!r}; {seen})"
            )
    mine = json.dumps(meta.get(SOFTWARE), sort_keys=True)
    if any(json.dumps(r.meta.get(SOFTWARE), sort_keys=True) != mine for r in reports):
        raise MergeError(
            "the reports ran on different software: "
            + _software_differs([(label, meta), *((r.path, r.meta) for r in reports)])
        )


def _software_differs(records: list[tuple[str, dict]]) -> str:
    """Which packages' versions differ among the reports' metas ``records`` (``(path,
    meta)``), each with the reports' values (``torch: 2.13.0 in a.json, 2.12.0 in
    b.json``)."""
    records = [(path, meta.get(SOFTWARE) or {}) for path, meta in records]
    names = sorted({name for _, record in records for name in record})
    parts = []
    for name in names:
        values = [(path, record.get(name, "not recorded")) for path, record in records]
        if len({v for _, v in values}) > 1:
            parts.append(f"{name}: " + ", ".join(f"{v} in {path}" for path, v in values))
    return "; ".join(parts) or "one report records it, another does not"


def cell_owners(reports: list[PartReport]) -> dict[tuple[str, str], str]:
    """The report that finished each cell, or :class:`MergeError` for a cell in two."""
    owner: dict[tuple[str, str], str] = {}
    for r in reports:
        for cell in r.cells:
            if cell in owner:
                raise MergeError(f"cell {'/'.join(cell)} is in {owner[cell]} and in {r.path}")
            owner[cell] = r.path
    return owner
