"""``ndpool report merge``: the JSON reports of the shards of one run, as one report.

The shards of a run (``ndpool check --shard I/N --report shard-I.json``, every one with
the same target, profile, seed and selection) each hold a disjoint part of the op x
property matrix; the merge checks that the reports belong together (one run, every shard
once, no cell twice, together the whole selection) and combines them into one matrix,
one verdict and one exit status, as the unsharded run would have given: the same
statuses, examples and failures per cell, the known deviations hit summed over the
shards, and the registry entries' hits and checks summed over the shards (stale and not
sampled entries as one run would find them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ndpool import spec

from .gate import (
    EXIT_CONFORMANT,
    EXIT_NOT_CONFORMANT,
    EXIT_NOTHING_CHECKED,
    EXIT_SETUP,
    EXIT_SUITE_ERROR,
    GateConfig,
    SetupError,
    junit_xml,
    report_format,
    summarize,
)
from .properties import PROPERTIES
from .reporting import Matrix, write_report
from .shards import Shard

#: the exit statuses of ``ndpool report merge`` (the gate's codes)
EXIT_CODES = {
    EXIT_CONFORMANT: "the merged run is conformant (failures only inside known deviations)",
    EXIT_NOT_CONFORMANT: "the merged run is not conformant: a cell failed in some shard",
    EXIT_SETUP: "the reports do not make one run (another target, profile, seed or "
    "selection; a shard missing or twice; a cell in two shards), or one cannot be read; "
    "nothing was merged",
    EXIT_NOTHING_CHECKED: "nothing was checked: no shard ran a cell",
    EXIT_SUITE_ERROR: "the suite itself failed in some shard (a bug in ndpool.conformance)",
}

#: the fields of a report's meta that every shard of one run shares. The cost table the
#: shards were dealt by is not one of them: the shards' cells must partition the matrix,
#: which :func:`check_fit` checks cell by cell, and one table reached by two paths (or two
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
class ShardReport:
    """One shard's JSON report."""

    path: str
    meta: dict
    name: str  # the target's name in the report
    body: dict  # the report of that target
    shard: Shard
    cells: list[tuple[str, str]]


def read_report(path: str) -> ShardReport:
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
    if meta.get("interrupted"):
        stopped = meta["interrupted"]
        raise MergeError(
            f"{path} is the report of an interrupted run: {len(stopped)} of its cells did "
            f"not run (e.g. {stopped[0]}); run that shard again"
        )
    name, body = next(iter(targets.items())) if targets else ("", {})
    try:
        shard = Shard.parse(meta["shard"]) if meta.get("shard") else Shard(1, 1)
    except ValueError as exc:
        raise MergeError(f"{path}: shard {exc}") from None
    cells = [tuple(c.split("/", 1)) for c in meta["cells"]]
    return ShardReport(str(path), meta, name, body, shard, cells)


def _selection(meta: dict) -> list[tuple[str, str]]:
    ops = meta["ops"] or list(spec.OPS)
    props = meta["properties"] or list(PROPERTIES)
    return [(op, p) for op in ops for p in props]


def _software_differs(reports: list[ShardReport]) -> str:
    """Which packages' versions differ among ``reports``, each with the reports' values
    (``torch: 2.13.0 in a.json, 2.12.0 in b.json``)."""
    records = [(r.path, r.meta.get(SOFTWARE) or {}) for r in reports]
    names = sorted({name for _, record in records for name in record})
    parts = []
    for name in names:
        values = [(path, record.get(name, "not recorded")) for path, record in records]
        if len({v for _, v in values}) > 1:
            parts.append(f"{name}: " + ", ".join(f"{v} in {path}" for path, v in values))
    return "; ".join(parts) or "one report records it, another does not"


def check_fit(reports: list[ShardReport]) -> None:
    """Raise :class:`MergeError` unless ``reports`` are the shards of one run."""
    if not reports:
        raise MergeError("no reports to merge")
    first = reports[0]
    for field in SAME:
        values = {json.dumps(r.meta.get(field)) for r in reports}
        if len(values) > 1:
            seen = "; ".join(f"{r.path}: {r.meta.get(field)!r}" for r in reports)
            raise MergeError(f"the reports are of different runs: {field} differs ({seen})")
    software = {json.dumps(r.meta.get(SOFTWARE), sort_keys=True) for r in reports}
    if len(software) > 1:
        raise MergeError(f"the reports ran on different software: {_software_differs(reports)}")
    counts = {r.shard.count for r in reports}
    if len(counts) > 1:
        seen = "; ".join(f"{r.path}: {r.shard}" for r in reports)
        raise MergeError(f"the reports are shards of different splits ({seen})")
    count = first.shard.count
    by_index: dict[int, str] = {}
    for r in reports:
        if r.shard.index in by_index:
            raise MergeError(
                f"shard {r.shard} is given twice ({by_index[r.shard.index]}, {r.path})"
            )
        by_index[r.shard.index] = r.path
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise MergeError(f"shard(s) {', '.join(missing)} missing: the merge would not be the run")
    owner: dict[tuple[str, str], str] = {}
    for r in reports:
        for cell in r.cells:
            if cell in owner:
                raise MergeError(f"cell {'/'.join(cell)} is in {owner[cell]} and in {r.path}")
            owner[cell] = r.path
    expected = _selection(first.meta)
    lacking = [c for c in expected if c not in owner]
    extra = [c for c in owner if c not in set(expected)]
    if lacking or extra:
        what = f"{len(lacking)} cell(s) of the selection in no shard" if lacking else ""
        what += (", " if what and extra else "") + (
            f"{len(extra)} cell(s) outside it" if extra else ""
        )
        example = "/".join((lacking or extra)[0])
        raise MergeError(f"the shards do not cover the selection: {what} (e.g. {example})")
    names = {r.name for r in reports if r.name}
    if len(names) > 1:
        raise MergeError(f"the reports name different targets: {sorted(names)}")


def merged_matrix(reports: list[ShardReport]) -> tuple[Matrix, str]:
    """The matrix of the whole run from the shards' reports (checked by
    :func:`check_fit`), and the target's name."""
    matrix = Matrix()
    name = next((r.name for r in reports if r.name), reports[0].meta["target"])
    for r in reports:
        body = r.body
        for op, prop in r.cells:
            key = (name, op, prop)
            status = body.get("cells", {}).get(op, {}).get(prop, "n/a")
            matrix.set(name, op, prop, status, body.get("failures", {}).get(f"{op}/{prop}", ""))
            for field, into in (
                ("examples", matrix.examples),
                ("seconds", matrix.durations),
                ("found_at", matrix.found_at),
                ("replayed", matrix.replayed),
                ("excluded", matrix.excluded_cells),
            ):
                value = body.get(field, {}).get(op, {}).get(prop)
                if value is not None:
                    into[key] = value
        for field, into in (
            ("deviation_hits", matrix.hit_counts),
            ("deviation_clean", matrix.clean_counts),
            ("deviation_excluded", matrix.excluded_counts),
        ):
            into[name].update(body.get(field, {}))
        for op, row in body.get("findings", {}).items():
            for prop, found in row.items():
                matrix.findings[(name, op, prop)] = found
        matrix.entries[name] = body.get("deviations", [])
        matrix.guards[name] = body.get("skip_deviations", [])
    return matrix, name


def _config(meta: dict) -> GateConfig:
    """The run's configuration, as far as a report records it (for replay commands)."""
    return GateConfig(
        target=meta["target"],
        device=meta["device"],
        ops=list(meta["ops"]),
        properties=list(meta["properties"]),
        profile=meta["profile"],
        seed=meta["seed"],
        deviations=meta["deviations"],
        db=meta.get("db"),
        discover=meta.get("discover"),
        conventions=meta.get("conventions", "declared"),
        unregistered=meta.get("unregistered", False),
    )


def merge(
    paths: list[str],
    report: str | None = None,
    fmt: str | None = None,
    junit: str | None = None,
    out=print,
) -> int:
    """Merge the shard reports at ``paths``; print the failures, the matrix, the costs
    and the verdict; write ``report`` / ``junit``; return the exit status
    (:data:`EXIT_CODES`)."""
    try:
        if report:
            fmt = report_format(report, fmt)
        reports = [read_report(p) for p in paths]
        check_fit(reports)
    except (MergeError, SetupError) as exc:
        out(f"ndpool report merge: set-up error: {exc}")
        return EXIT_SETUP
    matrix, name = merged_matrix(reports)
    cfg = _config(reports[0].meta)
    counts = matrix.counts(name)
    summarize(matrix, name, cfg, out)
    count = reports[0].shard.count
    out(
        f"merged {len(reports)} report(s) (shards 1..{count} of {count}) of target {name}, "
        f"profile {cfg.profile}, seed {cfg.seed}"
    )
    meta = {**reports[0].meta, "shard": None}
    meta["cells"] = [f"{op}/{prop}" for op, prop in _selection(meta)]
    if report:
        if fmt == "xml":
            Path(report).write_text(junit_xml(matrix, cfg))
        elif fmt == "json":
            write_report(matrix, report, fmt=fmt, **meta)
        else:
            write_report(matrix, report, fmt=fmt, profile=cfg.profile, seed=cfg.seed)
        out(f"report written to {report}")
    if junit:
        Path(junit).write_text(junit_xml(matrix, cfg))
    if counts["fail"]:
        return EXIT_NOT_CONFORMANT
    if counts["error"]:
        out("the suite itself failed (SUITE ERROR above): please report it")
        return EXIT_SUITE_ERROR
    if not matrix.exercised(name) and not counts["error"]:
        out("nothing was checked: no shard ran a cell")
        return EXIT_NOTHING_CHECKED
    return EXIT_CONFORMANT
