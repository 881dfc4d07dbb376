"""Make the cost table that balances ``ndpool check --shard`` for a target
(conformance/costs/<target>.json: :mod:`ndpool.conformance.shards`).

    ndpool check --target T --profile thorough --seed 0 -n 2 --report T.json
    python -m ndpool.conformance.tools.cost_table T.json [--out FILE]

The reports (one full run's, or the JSON reports of all shards of one run) hold the
examples and seconds of every cell; the table keeps them with the run's target, profile
and seed, and :mod:`ndpool.conformance.shards` scales them to the profile of a sharded
run. Only relative costs matter for the balance, so the machine that measures them
matters little, as long as it measures every cell in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from ..merge import check_fit, merged_matrix
from ..parts import MergeError, read_report
from ..shards import COSTS_DIR, CostTable


def table_from_reports(paths: list[str], note: str = "") -> CostTable:
    """The cost table of the run whose report (or shard reports) are at ``paths``."""
    reports = [read_report(p) for p in paths]
    check_fit(reports)
    matrix, name = merged_matrix(reports)
    meta = reports[0].meta
    seconds, examples = {}, {}
    for (t, op, prop), n in matrix.examples.items():
        if t == name and n > 0:
            examples[(op, prop)] = n
            seconds[(op, prop)] = matrix.durations.get((t, op, prop), 0.0)
    info = {
        "about": "measured seconds and examples per op x property cell of one full run; "
        "ndpool check --shard balances its shards by them (ndpool.conformance.shards)",
        "command": "ndpool check --target {target} --profile {profile} --seed {seed} "
        "-n {jobs}{flags} --report run.json; python -m ndpool.conformance.tools.cost_table "
        "run.json".format(**{**meta, "jobs": meta.get("jobs", 1), "flags": _flags(meta)}),
        "target": name,
        "seed": meta["seed"],
        "jobs": meta.get("jobs", 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        "total_seconds": round(sum(seconds.values()), 1),
        "total_examples": sum(examples.values()),
    }
    if note:
        info["note"] = note
    return CostTable(meta["profile"], seconds, examples, info)


def _flags(meta: dict) -> str:
    """The options of the run that change what a cell costs, as its command line had them."""
    flags = {True: " --discover", False: " --no-discover"}.get(meta.get("discover"), "")
    if meta.get("unregistered"):
        flags += " --unregistered"
    if meta.get("conventions", "declared") != "declared":
        flags += f" --conventions {meta['conventions']}"
    return flags


def dumps(data: dict) -> str:
    """The table as JSON, one line per op."""
    data = dict(data)
    cells = data.pop("cells")
    head = json.dumps(data, indent=1)[: -len("\n}")]
    rows = ",\n".join(f"  {json.dumps(op)}: {json.dumps(row)}" for op, row in cells.items())
    return f'{head},\n "cells": {{\n{rows}\n }}\n}}\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ndpool.conformance.tools.cost_table",
        description="Write the cost table of ndpool check --shard from a run's JSON report(s).",
    )
    parser.add_argument("reports", nargs="+", metavar="REPORT.json")
    parser.add_argument(
        "--out",
        default=None,
        help="default: the package's table of the target (conformance/costs/<target>.json)",
    )
    parser.add_argument("--note", default="", help="a remark on the measurement, kept in it")
    ns = parser.parse_args(argv)
    try:
        table = table_from_reports(ns.reports, ns.note)
    except MergeError as exc:  # not one full run's report(s): say why, in one line
        print(f"cost_table: {exc}")
        return 3
    ns.out = ns.out or str(COSTS_DIR / f"{table.meta['target']}.json")
    Path(ns.out).write_text(dumps(table.to_json()))
    print(
        f"{ns.out}: {len(table.seconds)} cells of {table.meta['target']} at profile "
        f"{table.profile}, {table.meta['total_seconds']} s in all"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
