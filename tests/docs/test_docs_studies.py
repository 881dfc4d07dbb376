"""The studies page (docs/studies.md) shows the studies' results files, and its prose holds.

The tables come from ``docs/hooks/studies_tables.py`` at build time. Checked here: the
built page carries every pooler's numbers as this test formats them from the results
files itself; the hook follows the file it reads (a changed mean changes the table, so
nothing in it is typed by hand); and each statement of the page's "How to read it" list
holds for the recorded numbers.
"""

from __future__ import annotations

import copy
import html
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = {
    "mnist1d": ROOT / "examples" / "mnist1d" / "results" / "full" / "results.json",
    "digits2d": ROOT / "examples" / "digits2d" / "results" / "full" / "results.json",
}
PAGE = ROOT / "docs" / "studies.md"
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)
TAG = re.compile(r"<[^>]+>")


def _hook():
    spec = importlib.util.spec_from_file_location(
        "studies_tables", ROOT / "docs" / "hooks" / "studies_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    return {task: json.loads(path.read_text(encoding="utf-8")) for task, path in RESULTS.items()}


def _ok(result: dict) -> dict[str, dict]:
    return {n: r for n, r in result["poolers"].items() if r["status"] == "ok"}


def _pm(record: dict) -> str:
    return f"{record['test_acc_mean']:.4f} ± {record['test_acc_std']:.4f}"


def _table_rows(page_html: str) -> dict[str, list[str]]:
    """The rows of the page's tables, keyed by their first cell's text."""
    rows = {}
    for row in ROW.findall(page_html):
        cells = [html.unescape(TAG.sub("", c)).strip() for c in CELL.findall(row)]
        if cells:
            rows.setdefault(cells[0], cells)
    return rows


def test_studies_page_asks_for_both_generated_tables():
    text = PAGE.read_text(encoding="utf-8")
    for which in ("accuracy", "protocol"):
        assert f"<!-- ndpool:studies {which} -->" in text, f"docs/studies.md lost its {which} table"


def test_built_studies_page_shows_every_poolers_numbers(site, results):
    page = (site / "studies" / "index.html").read_text(encoding="utf-8")
    assert "ndpool:studies" not in page, "a studies marker was left unexpanded"
    rows = _table_rows(page)
    mnist, digits = _ok(results["mnist1d"]), _ok(results["digits2d"])
    for name in sorted(set(mnist) | set(digits)):
        assert name in rows, f"no row for {name} on the studies page; rows: {sorted(rows)}"
        cells = rows[name]
        expected = [
            _pm(mnist[name]) if name in mnist else "not run",
            _pm(digits[name]) if name in digits else "not run",
        ]
        original = results["mnist1d"]["original"].get(name)
        expected.append(f"{original['mean']:.4f} ± {original['std']:.4f}" if original else "")
        assert cells[1:4] == expected, f"{name}: page shows {cells[1:4]}, results give {expected}"
    for key in ("data", "splits", "epochs", "lr selection", "seeds"):
        assert key in rows and len(rows[key]) == 4, f"protocol row {key!r}: {rows.get(key)}"
    n_val = round(0.2 * results["digits2d"]["n_train"])
    assert f"({n_val} samples" in rows["splits"][3], rows["splits"]


def test_accuracy_table_follows_the_results_it_reads(results):
    hook = _hook()
    before = hook.accuracy(results)
    changed = copy.deepcopy(results)
    changed["digits2d"]["poolers"]["max"]["test_acc_mean"] = 0.1234
    changed["mnist1d"]["poolers"]["avg"]["status"] = "failed"
    after = hook.accuracy(changed)
    max_row = next(line for line in after.splitlines() if line.startswith("| max |"))
    avg_row = next(line for line in after.splitlines() if line.startswith("| avg |"))
    assert "| 0.1234 ± " in max_row and "0.1234" not in before, max_row
    assert avg_row.split("|")[2].strip() == "failed", avg_row
    protocol = hook.protocol(changed)
    changed["mnist1d"]["protocol"]["epochs"] = 7
    assert "7 per tuning trial" in hook.protocol(changed) and protocol != hook.protocol(changed)


def test_every_pooler_trains_on_both_data_sets(results):
    for task, result in results.items():
        low = {n: r["test_acc_mean"] for n, r in _ok(result).items() if r["test_acc_mean"] <= 0.9}
        assert not low, f"{task}: the page says every mean is above 0.9; these are not: {low}"
        assert len(_ok(result)) == len(result["poolers"]), f"{task}: a pooler did not run"


def test_three_seeds_cannot_rank_neighbours(results):
    mnist = sorted(_ok(results["mnist1d"]).values(), key=lambda r: -r["test_acc_mean"])[:9]
    spread = mnist[0]["test_acc_mean"] - mnist[-1]["test_acc_mean"]
    largest_std = max(r["test_acc_std"] for r in mnist)
    assert spread <= 2 * largest_std, (
        f"MNIST-1D: the best nine span {spread:.4f}, more than two standard deviations "
        f"({2 * largest_std:.4f})"
    )
    digits = _ok(results["digits2d"])
    worst = min(r["test_acc_mean"] for r in digits.values())
    assert digits["max"]["test_acc_mean"] - worst <= 0.04, (digits["max"], worst)
    assert results["digits2d"]["n_test"] == 360, "the page says one test image is 0.28 %"
    assert all(len(r["runs"]) == 3 for res in results.values() for r in _ok(res).values())


def test_where_the_source_has_a_figure(results):
    ours, source = _ok(results["mnist1d"]), results["mnist1d"]["original"]
    for name in ("max", "quantile"):
        gap = abs(ours[name]["test_acc_mean"] - source[name]["mean"])
        allowed = ours[name]["test_acc_std"] + source[name]["std"]
        assert gap <= allowed, f"{name}: {gap:.4f} from the source's figure, over {allowed:.4f}"
    assert ours["avg"]["test_acc_mean"] < source["avg"]["mean"]
    assert ours["lp"]["test_acc_mean"] > source["lp"]["mean"]
    last = min(ours, key=lambda n: ours[n]["test_acc_mean"])
    assert last == "median" == min(source, key=lambda n: source[n]["mean"]), last
    best = max(ours, key=lambda n: ours[n]["test_acc_mean"])
    assert best != "quantile", "the page says quantile pooling is not the best pooler here"
