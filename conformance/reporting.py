"""The summary matrix (op x property) and the Markdown / HTML / JSON reports."""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

STATUSES = ("pass", "fail", "known deviation", "not provided", "n/a", "no strategy", "error")
SHORT = {
    "pass": "pass",
    "fail": "FAIL",
    "known deviation": "dev",
    "not provided": "--",
    "n/a": "n/a",
    "no strategy": "none",
    "error": "ERR",
}
LEGEND = (
    "pass = conforms; FAIL = does not; dev = known deviation (registered); "
    "-- = not provided by the target; n/a = property does not apply; "
    "none = no strategy for the op yet"
)


@dataclass
class Matrix:
    cells: dict[tuple[str, str, str], str] = field(default_factory=dict)
    messages: dict[tuple[str, str, str], str] = field(default_factory=dict)
    hit_counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    durations: dict[tuple[str, str, str], float] = field(default_factory=dict)
    examples: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: per target, the known-deviations registry its tests used (its source file)
    registry_sources: dict[str, str] = field(default_factory=dict)
    #: a failed cell: the drawn example it was found at; the examples the database held
    found_at: dict[tuple[str, str, str], int] = field(default_factory=dict)
    replayed: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: per target and registry entry: pinned examples that checked its region and
    #: conformed; drawn examples set aside in its region
    clean_counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    excluded_counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    #: per target, the ids of its registry's entries
    entries: dict[str, list[str]] = field(default_factory=dict)
    #: per cell, the drawn examples set aside in registered regions (not counted)
    excluded_cells: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: per target, its registry's ``skip`` entries (a run with the registry set aside
    #: keeps them: they guard crashes)
    guards: dict[str, list[str]] = field(default_factory=dict)
    #: per cell, the distinct failures a discovery run found (``Finding.to_json``)
    findings: dict[tuple[str, str, str], list] = field(default_factory=dict)

    def set(self, target: str, op: str, prop: str, status: str, message: str = "") -> None:
        key = (target, op, prop)
        # a failure in any phase wins over a pass
        if self.cells.get(key) in ("fail", "error") and status == "pass":
            return
        self.cells[key] = status
        if message:
            self.messages[key] = message

    def add_report(self, report) -> None:
        meta = None
        hits: dict[str, int] = {}
        props = dict(getattr(report, "user_properties", ()))
        if "ndpool" not in props:
            return
        meta = json.loads(props["ndpool"])
        hits.update(json.loads(props.get("ndpool_hits", "{}")))
        target, op, prop = meta["target"], meta["op"], meta["property"]
        if "ndpool_registry" in props:
            registry = json.loads(props["ndpool_registry"])
            self.registry_sources[target] = registry["source"]
            self.entries[target] = registry["entries"]
        for k, v in json.loads(props.get("ndpool_clean", "{}")).items():
            self.clean_counts[target][k] += v
        for k, v in json.loads(props.get("ndpool_excluded", "{}")).items():
            self.excluded_counts[target][k] += v
        if "ndpool_examples" in props:
            self.examples[(target, op, prop)] = int(props["ndpool_examples"])
        for k, v in hits.items():
            self.hit_counts[target][k] += v
        key = (target, op, prop)
        self.durations[key] = self.durations.get(key, 0.0) + getattr(report, "duration", 0.0)
        if hasattr(report, "wasxfail") and report.skipped:
            self.set(target, op, prop, "known deviation", report.wasxfail)
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            reason = reason.removeprefix("Skipped: ")
            status = reason.split(":", 1)[0]
            self.set(target, op, prop, status if status in STATUSES else "n/a", reason)
        elif report.when == "call" and report.passed:
            self.set(target, op, prop, "pass")
        elif report.failed:
            status = "fail" if report.when == "call" else "error"
            self.set(target, op, prop, status, report.longreprtext)

    # -- queries ----------------------------------------------------------------------------------
    def targets(self) -> list[str]:
        return sorted({t for t, _, _ in self.cells})

    def ops(self, target: str) -> list[str]:
        from ndpool import spec

        order = {op: i for i, op in enumerate(spec.OPS)}
        seen = {op for t, op, _ in self.cells if t == target}
        return sorted(seen, key=lambda op: (order.get(op, len(order)), op))

    def props(self, target: str) -> list[str]:
        from .properties import PROPERTIES

        order = {p: i for i, p in enumerate(PROPERTIES)}
        seen = {p for t, _, p in self.cells if t == target}
        return sorted(seen, key=lambda p: (order.get(p, len(order)), p))

    def exercised(self, target: str) -> set[tuple[str, str]]:
        ran = ("pass", "fail", "known deviation")
        return {(op, p) for (t, op, p), s in self.cells.items() if t == target and s in ran}

    def hits(self, target: str) -> dict[str, int]:
        return dict(self.hit_counts.get(target, {}))

    def stale(self, target: str) -> list[str]:
        """Registry entries whose region a checked example reached without a failure."""
        hits, clean = self.hit_counts[target], self.clean_counts[target]
        return [e for e in self.entries.get(target, []) if clean[e] and not hits[e]]

    def not_sampled(self, target: str) -> list[str]:
        """Registry entries whose region no checked example reached (the drawn examples
        are kept out of registered regions; the entries' reproducers check them)."""
        hits, clean = self.hit_counts[target], self.clean_counts[target]
        return [e for e in self.entries.get(target, []) if not clean[e] and not hits[e]]

    def coverage(self, target: str) -> dict | None:
        """For a run with the registry set aside (``--unregistered``): which registry
        entries its distinct failures fall in (``found``; a failure in several regions
        counts for each), which none does (``not_found``), the ``skip`` entries that kept
        their regions from running (``guarded``), and the failures no entry covers
        (``new``: their kinds)."""
        findings = [f for (t, _, _), fs in self.findings.items() if t == target for f in fs]
        if not any("entry" in f for f in findings):
            return None
        found = sorted({e for f in findings if f.get("entry") for e in f["entry"].split(" or ")})
        guards = self.guards.get(target, [])
        entries = self.entries.get(target, [])
        return {
            "found": found,
            "not_found": [e for e in entries if e not in found and e not in guards],
            "guarded": guards,
            "new": [f["kind"] for f in findings if "entry" in f and not f["entry"]],
        }

    def excluded(self, target: str) -> int:
        return sum(self.excluded_counts[target].values())

    def counts(self, target: str) -> Counter:
        return Counter(s for (t, _, _), s in self.cells.items() if t == target)

    def conformant(self, target: str) -> bool:
        c = self.counts(target)
        return not c["fail"] and not c["error"]

    # -- rendering --
    def rows(self, target: str) -> tuple[list[str], list[list[str]]]:
        props = self.props(target)
        rows = []
        for op in self.ops(target):
            rows.append([op] + [SHORT[self.cells.get((target, op, p), "n/a")] for p in props])
        return props, rows

    def render_text(self, target: str, interrupted: bool = False) -> str:
        """The matrix and its verdict (``interrupted``: some cells did not run, so a run
        without a failure vouches for nothing)."""
        props, rows = self.rows(target)
        head = ["op"] + [_abbrev(p) for p in props]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [f"target: {target}"]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)))
        for r in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        c = self.counts(target)
        lines.append(", ".join(f"{s}: {c[s]}" for s in STATUSES if c[s]))
        lines.append(LEGEND)
        if not self.conformant(target):
            lines.append("NOT CONFORMANT")
        elif interrupted:
            lines.append("INTERRUPTED: no verdict (the cells that did not run are named below)")
        else:
            lines.append("CONFORMANT (apart from known deviations)")
        return "\n".join(lines)

    def cost_rows(self, target: str) -> tuple[list[str], list[list[str]]]:
        """``examples/seconds`` of every cell that ran (``.`` for one that did not), the
        examples that checked the target, and ``+N`` for the drawn ones set aside in
        registered regions."""
        props = self.props(target)
        rows = []
        for op in self.ops(target):
            row = [op]
            for p in props:
                key = (target, op, p)
                ran = key in self.examples and self.cells.get(key) in (
                    "pass",
                    "fail",
                    "error",
                    "known deviation",
                )
                secs = self.durations.get(key, 0.0)
                aside = self.excluded_cells.get(key, 0)
                text = f"{self.examples.get(key, 0) - aside}/{secs:.1f}" + (
                    f"+{aside}" if aside else ""
                )
                row.append(text if ran else ".")
            rows.append(row)
        return props, rows

    def render_costs(self, target: str) -> str:
        """Examples and seconds per op x property, and the totals: what a shard or a
        budget is sized by."""
        props, rows = self.cost_rows(target)
        head = ["op"] + [_abbrev(p) for p in props]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [
            "examples / seconds per op x property (+N: drawn in registered regions, set aside):"
        ]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)))
        for r in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        ran = [k for k in self.examples if k[0] == target]
        total = sum(self.examples[k] for k in ran)
        secs = sum(self.durations.get(k, 0.0) for k in ran)
        per = f", {1000 * secs / total:.1f} ms per example" if total else ""
        lines.append(f"{len(ran)} cells: {total} examples, {secs:.0f} s in the workers{per}")
        return "\n".join(lines)


def _abbrev(prop: str) -> str:
    return {
        "permutation_equivariance": "permute",
        "translation_equivariance": "translate",
        "positive_scaling": "scaling",
        "invalid_config": "invalid",
        "output_shape": "shape",
        "monotonicity": "monotone",
    }.get(prop, prop)


def to_json(matrix: Matrix, **extra) -> dict:
    out = {"meta": extra, "targets": {}}
    for t in matrix.targets():
        props, _ = matrix.rows(t)
        out["targets"][t] = {
            # an interrupted run's report (``interrupted`` in its meta) vouches for no one
            "conformant": matrix.conformant(t) and not extra.get("interrupted"),
            "counts": dict(matrix.counts(t)),
            "deviation_hits": matrix.hits(t),
            "deviation_clean": dict(matrix.clean_counts[t]),
            "deviation_excluded": dict(matrix.excluded_counts[t]),
            "deviations": matrix.entries.get(t, []),
            "stale_deviations": matrix.stale(t),
            "not_sampled_deviations": matrix.not_sampled(t),
            "cells": {
                op: {p: matrix.cells.get((t, op, p), "n/a") for p in props} for op in matrix.ops(t)
            },
            "failures": {
                f"{op}/{p}": matrix.messages[(t, op, p)]
                for (tt, op, p), s in matrix.cells.items()
                if tt == t and s in ("fail", "error") and (t, op, p) in matrix.messages
            },
            # what each cell cost, and where a failure was found: shard sizing, merging
            "examples": _per_cell(matrix.examples, t),
            "seconds": {
                op: {p: round(v, 3) for p, v in row.items()}
                for op, row in _per_cell(matrix.durations, t).items()
            },
            "found_at": _per_cell(matrix.found_at, t),
            "replayed": _per_cell(matrix.replayed, t),
            "findings": _per_cell(matrix.findings, t),
            "excluded": _per_cell(matrix.excluded_cells, t),
            "registry_coverage": matrix.coverage(t),
            "skip_deviations": matrix.guards.get(t, []),
        }
    return out


def _per_cell(values: dict, target: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for (t, op, p), v in sorted(values.items()):
        if t == target:
            out.setdefault(op, {})[p] = v
    return out


def to_markdown(matrix: Matrix, **extra) -> str:
    lines = ["# ndpool conformance report", ""]
    if extra:
        lines += [", ".join(f"{k}: {v}" for k, v in extra.items()), ""]
    for t in matrix.targets():
        props, rows = matrix.rows(t)
        verdict = "conformant" if matrix.conformant(t) else "**not conformant**"
        if matrix.conformant(t) and extra.get("interrupted"):
            verdict = "**interrupted**: no verdict"
        lines += [f"## {t} — {verdict}", ""]
        lines.append("| op | " + " | ".join(props) + " |")
        lines.append("|---|" + "---|" * len(props))
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines += ["", LEGEND, ""]
        hits = matrix.hits(t)
        if hits:
            lines += [
                "Known deviations hit: "
                + ", ".join(f"`{k}` ({v}x)" for k, v in sorted(hits.items())),
                "",
            ]
        for label, ids in (
            ("Stale deviations (checked in their region, no failure)", matrix.stale(t)),
            ("Deviations not sampled (no checked example in their region)", matrix.not_sampled(t)),
        ):
            if ids:
                lines += [f"{label}: " + ", ".join(f"`{s}`" for s in ids), ""]
        cost_props, cost_rows = matrix.cost_rows(t)
        if any(c != "." for r in cost_rows for c in r[1:]):
            lines += ["Examples / seconds per cell:", ""]
            lines.append("| op | " + " | ".join(cost_props) + " |")
            lines.append("|---|" + "---|" * len(cost_props))
            lines += ["| " + " | ".join(r) + " |" for r in cost_rows]
            lines.append("")
        fails = to_json(matrix)["targets"][t]["failures"]
        for name, msg in fails.items():
            lines += [f"### {name}", "", "````", msg.strip(), "````", ""]
    return "\n".join(lines)


def to_html(matrix: Matrix, **extra) -> str:
    colors = {
        "pass": "#cfc",
        "FAIL": "#f99",
        "dev": "#ffc",
        "--": "#eee",
        "n/a": "#fff",
        "none": "#ddd",
        "ERR": "#f66",
    }
    parts = [
        "<!doctype html><meta charset=utf-8><title>ndpool conformance</title>",
        "<h1>ndpool conformance report</h1>",
    ]
    if extra:
        parts.append("<p>" + html.escape(", ".join(f"{k}: {v}" for k, v in extra.items())) + "</p>")
    for t in matrix.targets():
        props, rows = matrix.rows(t)
        parts.append(f"<h2>{html.escape(t)}</h2><table border=1 cellpadding=4>")
        parts.append(
            "<tr><th>op</th>" + "".join(f"<th>{html.escape(p)}</th>" for p in props) + "</tr>"
        )
        for r in rows:
            cells = "".join(
                f"<td style='background:{colors.get(c, '#fff')}'>{c}</td>" for c in r[1:]
            )
            parts.append(f"<tr><th>{html.escape(r[0])}</th>{cells}</tr>")
        parts.append(f"</table><p>{html.escape(LEGEND)}</p>")
        for name, msg in to_json(matrix)["targets"][t]["failures"].items():
            parts.append(f"<h3>{html.escape(name)}</h3><pre>{html.escape(msg)}</pre>")
    return "\n".join(parts)


def write_report(matrix: Matrix, path: str, fmt: str | None = None, **extra) -> None:
    """Write the report in ``fmt`` (``md``, ``json``, ``html``; by default from the file's
    extension, Markdown for any other)."""
    p = Path(path)
    fmt = fmt or {".json": "json", ".html": "html", ".htm": "html"}.get(p.suffix, "md")
    if fmt == "json":
        p.write_text(json.dumps(to_json(matrix, **extra), indent=2))
    elif fmt == "html":
        p.write_text(to_html(matrix, **extra))
    else:
        p.write_text(to_markdown(matrix, **extra))
