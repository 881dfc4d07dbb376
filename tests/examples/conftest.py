"""Fixtures for the example smoke tests: run an example's ``--quick`` mode and check its output."""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_quick(example: str, poolers: list[str], tmp_path: Path, *extra: str) -> dict:
    """Run ``examples/<example>/run.py --quick`` into ``tmp_path``; the parsed results.json."""
    out = tmp_path / "out"
    env = dict(os.environ, POOLING_STUDY_CACHE=str(tmp_path / "cache"))
    cmd = [sys.executable, str(EXAMPLES / example / "run.py"), "--quick", "--out", str(out),
           "--poolers", ",".join(poolers), *extra]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited with {proc.returncode}\n"
        f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    )
    for pooler in poolers:
        assert f"pooler {poolers.index(pooler) + 1}/{len(poolers)}: {pooler}" in proc.stdout, (
            f"no progress line for {pooler} in:\n{proc.stdout}"
        )
    return json.loads((out / "results.json").read_text())


def check_results(
    result: dict, poolers: list[str], impl_module, out: Path, expect: str = "ok"
) -> None:
    """The quick run's output is well-formed and agrees with what ``impl_module`` provides.

    A requested pooler whose class ``impl_module`` has must have run (status ok)
    with finite test accuracies in [0, 1] (or, with ``expect="skipped"``, been
    skipped for the time budget, with its projected time); one whose class it lacks must be
    reported unavailable, naming the class; none may be missing from the JSON.
    """
    assert result["mode"] == "quick", result["mode"]
    assert list(result["poolers"]) == poolers, (
        f"expected poolers {poolers}, got {list(result['poolers'])}"
    )
    table = (out / "results.md").read_text()
    for name, record in result["poolers"].items():
        has_class = hasattr(impl_module, record["impl_class"])
        if has_class and expect == "skipped":
            assert record["status"] == "skipped", f"{name}: expected skipped, got {record}"
            assert record["reason"].startswith("time budget: projected"), record["reason"]
            assert record["projected_seconds"] > 0, record
            assert f"- {name} (skipped): time budget" in table, f"{name} not listed:\n{table}"
        elif has_class:
            assert record["status"] == "ok", f"{name}: expected ok, got {record}"
            assert record["projected_seconds"] > 0, record
            accs = [run["test_acc"] for run in record["runs"]] + [record["test_acc_mean"]]
            assert all(math.isfinite(a) and 0.0 <= a <= 1.0 for a in accs), f"{name}: {accs}"
            assert [run["seed"] for run in record["runs"]] == list(result["protocol"]["seeds"])
            assert len(record["lr_search"]) == len(result["protocol"]["lr_grid"]) == 1
            assert record["best_lr"] in result["protocol"]["lr_grid"], record["best_lr"]
            assert f"| {name} | {record['test_acc_mean']:.4f}" in table, (
                f"{name} row missing:\n{table}"
            )
        else:
            assert record["status"] == "unavailable", f"{name}: expected unavailable, got {record}"
            assert record["impl_class"] in record["reason"], record["reason"]
            assert f"- {name} (unavailable)" in table, f"{name} not listed as not run:\n{table}"
    png = (out / "accuracy.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 1000, f"accuracy.png: {len(png)} bytes"


@pytest.fixture
def quick_study(tmp_path):
    """``quick_study(example, poolers, impl="ndpool.impl", *extra, expect="ok") -> (result, out)``.

    Runs the example's quick mode with the pooler table pointed at ``impl`` and
    checks the output with ``check_results`` before returning it.
    """

    def run(
        example: str, poolers: list[str], impl: str = "ndpool.impl", *extra: str, expect="ok"
    ) -> tuple[dict, Path]:
        result = run_quick(example, poolers, tmp_path, "--impl", impl, *extra)
        out = tmp_path / "out"
        check_results(result, poolers, importlib.import_module(impl), out, expect)
        return result, out

    return run
