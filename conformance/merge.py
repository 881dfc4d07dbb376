"""``ndpool report merge``: the JSON reports of the parts of one run, as one report.

The parts of a run each hold a disjoint part of the op x property matrix: the shards
(``ndpool check --shard I/N --report shard-I.json``, every one with the same target,
profile, seed and selection), the finished cells of an interrupted run, and a run that
went on from reports (``ndpool check --resume REPORT.json …``, which runs only the cells
they lack). A cell's result does not depend on the part that ran it (each cell draws from
the run's seed alone), so the merge goes by cells: it checks that the reports belong to
one run (the same target, profile, seed, selection, options and software) and that their
finished cells cover the selection once, and combines them into one matrix, one verdict
and one exit status, as the run in one piece would have given: the same statuses,
examples and failures per cell, the known deviations hit summed over the parts, and the
registry entries' hits and checks summed over the parts (stale and not sampled entries as
one run would find them).
"""

from __future__ import annotations

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
from .parts import MergeError, PartReport, cell_owners, check_same_run, read_report
from .properties import PROPERTIES
from .reporting import Matrix, write_report

#: the exit statuses of ``ndpool report merge`` (the gate's codes)
EXIT_CODES = {
    EXIT_CONFORMANT: "the merged run is conformant (failures only inside known deviations)",
    EXIT_NOT_CONFORMANT: "the merged run is not conformant: a cell failed in some shard",
    EXIT_SETUP: "the reports do not make one run (another target, profile, seed, selection "
    "or software; a cell in no report or in two), or one cannot be read; nothing was merged",
    EXIT_NOTHING_CHECKED: "nothing was checked: no shard ran a cell",
    EXIT_SUITE_ERROR: "the suite itself failed in some shard (a bug in ndpool.conformance)",
}


def _selection(meta: dict) -> list[tuple[str, str]]:
    ops = meta["ops"] or list(spec.OPS)
    props = meta["properties"] or list(PROPERTIES)
    return [(op, p) for op in ops for p in props]


def check_fit(reports: list[PartReport]) -> None:
    """Raise :class:`MergeError` unless ``reports`` are parts of one run whose finished
    cells cover its selection once."""
    if not reports:
        raise MergeError("no reports to merge")
    first = reports[0]
    check_same_run(first.meta, reports[1:], first.path)
    owner = cell_owners(reports)
    expected = _selection(first.meta)
    lacking = [c for c in expected if c not in owner]
    extra = [c for c in owner if c not in set(expected)]
    if extra:
        raise MergeError(
            f"{len(extra)} cell(s) outside the run's selection (e.g. {'/'.join(extra[0])})"
        )
    if lacking:
        raise MergeError(
            f"{len(lacking)} cell(s) of the selection are in no report (e.g. "
            f"{'/'.join(lacking[0])}){_no_shard(reports)}: the merge would not be the run; "
            "`ndpool check` with the run's options and --resume "
            f"{' '.join(r.path for r in reports)} runs them"
        )
    names = {r.name for r in reports if r.name}
    if len(names) > 1:
        raise MergeError(f"the reports name different targets: {sorted(names)}")


def _no_shard(reports: list[PartReport]) -> str:
    """Where every report is a shard of one split: the shards no report is of."""
    counts = {r.shard.count for r in reports}
    if len(counts) != 1 or counts == {1}:
        return ""
    (count,) = counts
    seen = {r.shard.index for r in reports}
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    return f"; no report of shard(s) {', '.join(missing)}" if missing else ""


def merged_matrix(reports: list[PartReport]) -> tuple[Matrix, str]:
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
    """Merge the reports of a run's parts at ``paths``; print the failures, the matrix,
    the costs and the verdict; write ``report`` / ``junit``; return the exit status
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
    cells = sum(len(r.cells) for r in reports)
    out(
        f"merged {len(reports)} report(s) ({cells} cells) of target {name}, "
        f"profile {cfg.profile}, seed {cfg.seed}"
    )
    meta = {k: v for k, v in reports[0].meta.items() if k != "interrupted"}
    meta["shard"] = None
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
