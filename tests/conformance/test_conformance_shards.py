"""`ndpool check --shard I/N` and `ndpool report merge`: the shards of a run partition its
op x property matrix exactly (every cell in one shard, whatever N), they are balanced by
the measured cost table, and the merge of the shards' reports is the unsharded run's
report -- checked against a real unsharded run of the same selection and seed."""

from __future__ import annotations

import doctest
import json
import re

import cli_run
import pytest

from ndpool import spec
from ndpool.conformance import merge, shards
from ndpool.conformance.gate import (
    EXIT_NOT_CONFORMANT,
    EXIT_NOTHING_CHECKED,
    EXIT_SETUP,
    EXIT_USAGE,
)
from ndpool.conformance.properties import PROPERTIES
from ndpool.conformance.shards import CostTable, Shard, assign, cost_function

ALL_CELLS = [(op, p) for op in spec.OPS for p in PROPERTIES]

#: known deviations for campaign_targets:last_tie: forgives two of its failing cells
#: (hit), leaves jvp/vjp failing, and one entry no example can match (stale once its
#: cells ran 100 examples: they do only over all shards together)
DEVIATIONS = (
    cli_run.fixture("campaign_targets").LAST_TIE_VALUES
    + """
[[deviation]]
id = "never-matched"
property = ["forward", "jvp", "vjp", "adjoint", "output_shape", "permutation_equivariance"]
op = "avg_pool"
reason = "avg_pool conforms: nothing ever matches this entry"
"""
)

ndpool = cli_run.ndpool


def test_shards_doctests():
    for module in (shards, merge):
        result = doctest.testmod(module, verbose=False)
        assert result.failed == 0, f"{result.failed} doctests failed in {module.__name__}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3/2", "1 <= I <= N"),
        ("0/2", "1 <= I <= N"),
        ("1/0", "1 <= I <= N"),
        ("x", "is not I/N"),
        ("1/", "is not I/N"),
        ("1/2/3", "is not I/N"),
    ],
)
def test_shard_parse_rejects_bad_values(text, message):
    with pytest.raises(ValueError, match="I"):
        Shard.parse(text)
    try:
        Shard.parse(text)
    except ValueError as exc:
        assert message in str(exc), f"Shard.parse({text!r}): {exc}"


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 16, 200])
def test_shards_partition_the_matrix_exactly(count):
    table = CostTable.load()
    for profile in ("quick", "thorough"):
        cost = cost_function(table, profile)
        parts = [shards.shard_cells(ALL_CELLS, Shard(i, count), cost) for i in range(1, count + 1)]
        union = [cell for part in parts for cell in part]
        assert len(union) == len(set(union)), f"N={count}: a cell is in two shards"
        assert set(union) == set(ALL_CELLS), (
            f"N={count}: the shards miss {sorted(set(ALL_CELLS) - set(union))[:3]}"
        )
        # deterministic: computed again (as every shard's process does), the same
        again = [shards.shard_cells(ALL_CELLS, Shard(i, count), cost) for i in range(1, count + 1)]
        assert again == parts
        # every shard holds a cell while there are cells enough (none is left empty)
        assert all(parts) or count > len(ALL_CELLS)


def test_shards_are_balanced_by_cost_not_by_count():
    table = CostTable.load()
    cost = cost_function(table, "ci")
    parts = assign(ALL_CELLS, 4, cost)
    loads = [sum(cost(c) for c in part) for part in parts]
    # greedy to the least loaded shard: the loads differ by at most the dearest cell
    assert max(loads) - min(loads) <= max(cost(c) for c in ALL_CELLS) + 1e-9, loads
    # an independent split by count (every 4th cell) is worse on this table
    by_count = [ALL_CELLS[i::4] for i in range(4)]
    count_loads = [sum(cost(c) for c in part) for part in by_count]
    assert max(loads) <= max(count_loads), (loads, count_loads)
    # skewed costs: one dear cell takes a shard of its own, the cheap ones share the other
    cells = [("a", "p"), ("b", "p"), ("c", "p"), ("d", "p")]
    dear = {("a", "p"): 10.0, ("b", "p"): 1.0, ("c", "p"): 1.0, ("d", "p"): 1.0}
    assert assign(cells, 2, dear.__getitem__) == [
        [("a", "p")],
        [("b", "p"), ("c", "p"), ("d", "p")],
    ]


def test_cost_table_covers_the_matrix_and_says_how_it_was_made():
    table = CostTable.load()
    assert table.profile in ("quick", "ci", "thorough")
    assert "tools.cost_table" in table.meta["command"]
    ran = set(table.seconds)
    assert len(ran) >= 100, f"the cost table has {len(ran)} cells"
    assert ran <= set(ALL_CELLS), (
        f"cells that are not in the matrix: {sorted(ran - set(ALL_CELLS))}"
    )
    assert all(s > 0 for s in table.seconds.values())
    # an unknown cell costs the median; a blocked one nothing
    cost = cost_function(table, table.profile, blocked={("max_pool", "forward")})
    assert cost(("max_pool", "forward")) == 0.0
    assert table.estimate("no_such_op", "forward", table.profile) == pytest.approx(table.default())


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--shard", "3/2", "--seed", "1"], EXIT_USAGE, "1 <= I <= N"),
        (["--shard", "x", "--seed", "1"], EXIT_USAGE, "is not I/N"),
        (["--shard", "1/2"], EXIT_SETUP, "needs --seed"),
    ],
    ids=["index-above-count", "not-a-shard", "no-seed"],
)
def test_bad_shard_options(tmp_path, args, code, says):
    out = ndpool(tmp_path, "check", "--op", "max_pool", *args)
    assert out.returncode == code, cli_run.tail(out)
    assert says in out.stdout + out.stderr, cli_run.tail(out)


def test_a_cost_table_of_ones_own_balances_the_shards(tmp_path):
    """--costs FILE: the shards are dealt by the user's table (a cell dearer than all the
    others together has a shard to itself), recorded in the report; a file that is not a
    cost table is a set-up error."""
    (tmp_path / "devs.toml").write_text(DEVIATIONS)
    from ndpool.conformance.properties import PROPERTIES

    cheap = {"examples": 1, "seconds": 0.01}
    cells = {op: {prop: cheap for prop in PROPERTIES} for op in ("max_pool", "avg_pool")}
    cells["avg_pool"]["forward"] = {"examples": 1, "seconds": 1e6}
    (tmp_path / "mine.json").write_text(json.dumps({"profile": "quick", "cells": cells}))
    out, report = _run(tmp_path, "mine", "--shard", "1/2", "--costs", "mine.json")
    assert report["meta"]["cells"] == ["avg_pool/forward"], cli_run.tail(out)
    assert report["meta"]["costs"] == "mine.json"
    (tmp_path / "bad.json").write_text('{"cells": 3}')
    bad = ndpool(tmp_path, "check", "--op", "max_pool", "--seed", "1", "--costs", "bad.json")
    assert bad.returncode == EXIT_SETUP and "not a cost table" in bad.stdout, cli_run.tail(bad)


def _run(tmp_path, name, *extra):
    args = ["check", "--target", "campaign_targets:last_tie", "--op", "max_pool", "avg_pool"]
    args += ["--seed", "1", "--deviations", "devs.toml", "--report", f"{name}.json", *extra]
    out = ndpool(tmp_path, *args)
    return out, json.loads((tmp_path / f"{name}.json").read_text())


def test_a_cell_that_calls_the_target_seldom_is_not_hung(tmp_path):
    """avg_pool's invalid_config breakers here run for seconds between calls of the target
    (no example counts); the worker's heartbeat keeps --timeout for the calls themselves."""
    (tmp_path / "devs.toml").write_text(DEVIATIONS)
    args = ["--property", "invalid_config", "--timeout", "2"]
    out, report = _run(tmp_path, "seldom", *args)
    assert "hung" not in out.stdout, cli_run.tail(out)
    assert report["targets"]["mutant:max-last-tie"]["cells"]["avg_pool"] == {
        "invalid_config": "pass"
    }


def test_merged_shards_equal_the_unsharded_run(tmp_path):
    (tmp_path / "devs.toml").write_text(DEVIATIONS)
    whole, whole_report = _run(tmp_path, "whole")
    assert whole.returncode == EXIT_NOT_CONFORMANT, cli_run.tail(whole)
    # a progress line after every tenth of the cells, the last one with the whole count
    line = r"^\[(\d+)/(\d+)\] checked: (\d+) examples in \d+ s"
    progress = re.findall(line, whole.stdout, re.M)
    assert progress and progress[-1][0] == progress[-1][1], cli_run.tail(whole)
    assert int(progress[-1][2]) == sum(
        n for row in whole_report["targets"]["mutant:max-last-tie"]["examples"].values()
        for n in row.values()
    )  # fmt: skip
    parts = []
    for i in (1, 2, 3):
        out, report = _run(tmp_path, f"shard{i}", "--shard", f"{i}/3")
        assert f"shard {i}/3 (" in out.stdout, cli_run.tail(out)
        parts.append(report)
    # the shards partition the unsharded run's cells
    cells = [c for r in parts for c in r["meta"]["cells"]]
    assert sorted(cells) == sorted(whole_report["meta"]["cells"]) and len(set(cells)) == 22
    merged = ndpool(tmp_path, "report", "merge", "shard3.json", "shard1.json", "shard2.json",
                    "--report", "merged.json", "--junit-xml", "merged.xml")  # fmt: skip
    assert merged.returncode == whole.returncode, cli_run.tail(merged)
    name = "mutant:max-last-tie"
    a = whole_report["targets"][name]
    b = json.loads((tmp_path / "merged.json").read_text())["targets"][name]
    for key in ("conformant", "counts", "cells", "failures", "examples", "deviation_hits",
                "deviation_clean", "deviation_excluded", "stale_deviations",
                "not_sampled_deviations", "found_at"):  # fmt: skip
        assert a[key] == b[key], f"merged {key} differs from the unsharded run's"
    assert a["deviation_hits"] and a["stale_deviations"] == ["never-matched"]
    assert not a["conformant"] and set(a["failures"]) == {"max_pool/jvp", "max_pool/vjp"}
    # an entry with no scope covers all of avg_pool: no drawn example goes there, its
    # pins check it (and conform: stale); a shard without avg_pool cells never sees it
    assert [r["targets"][name]["stale_deviations"] for r in parts].count(["never-matched"]) >= 1
    assert "NOT CONFORMANT" in merged.stdout and "replay: ndpool check" in merged.stdout
    assert "examples / seconds per op x property (+N: drawn in registered regions" in merged.stdout
    assert 'failures="2"' in (tmp_path / "merged.xml").read_text()
    # a run resumed from shard 1's report runs the other shards' cells, and merges with it
    # into the unsharded run as well
    rest, rest_report = _run(tmp_path, "rest", "--resume", "shard1.json")
    assert "resumed (" in rest.stdout, cli_run.tail(rest)
    assert sorted(rest_report["meta"]["cells"] + parts[0]["meta"]["cells"]) == sorted(cells)
    again = ndpool(tmp_path, "report", "merge", "shard1.json", "rest.json", "--report", "m2.json")
    assert again.returncode == whole.returncode, cli_run.tail(again)
    c = json.loads((tmp_path / "m2.json").read_text())["targets"][name]
    for key in ("conformant", "counts", "cells", "failures", "examples", "deviation_hits",
                "stale_deviations", "not_sampled_deviations", "found_at"):  # fmt: skip
        assert a[key] == c[key], f"merged {key} of the resumed run differs from the whole run's"
    # the cost table regenerates from the shards' reports as from the whole run's
    from ndpool.conformance.tools.cost_table import dumps, table_from_reports

    shards_table = table_from_reports([str(tmp_path / f"shard{i}.json") for i in (1, 2, 3)])
    whole_table = table_from_reports([str(tmp_path / "whole.json")])
    ran = [n for row in a["examples"].values() for n in row.values() if n > 0]
    assert shards_table.examples == whole_table.examples and len(whole_table.examples) == len(ran)
    (tmp_path / "costs.json").write_text(dumps(shards_table.to_json()))
    again = CostTable.load(tmp_path / "costs.json")
    assert again.examples == shards_table.examples and again.profile == "quick"
    assert again.seconds == pytest.approx(shards_table.seconds, abs=1e-3)


@pytest.mark.parametrize("path", sorted(shards.COSTS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_shipped_cost_table_is_a_builtin_targets_own(path):
    """A table is named after the target whose run measured it, and a run of that target
    shards by it: a table filed under another name would balance the wrong target."""
    from ndpool.conformance.targets import BUILTIN_TARGETS

    table = CostTable.load(path)
    assert path.stem in BUILTIN_TARGETS and table.meta["target"] == path.stem
    assert shards.table_path(path.stem) == path
    assert f"--target {path.stem} " in table.meta["command"]
    assert set(table.seconds) <= set(ALL_CELLS) and table.seconds
    assert all(s >= 0 for s in table.seconds.values())


def test_a_target_without_a_table_of_its_own_shards_by_ndpool_impls():
    for name in ("my_kernels:target", "torch-compile", "../torch", "ndpool.impl"):
        assert shards.table_path(name) == shards.COSTS_FILE, name
    assert CostTable.load(shards.COSTS_FILE).meta["target"] == "ndpool.impl"


def test_the_cost_table_tool_writes_the_targets_own_table_by_default(tmp_path, monkeypatch, capsys):
    from ndpool.conformance.tools import cost_table

    (tmp_path / "devs.toml").write_text(DEVIATIONS)
    _, report = _run(tmp_path, "whole", "--property", "forward", "--discover")
    monkeypatch.setattr(cost_table, "COSTS_DIR", tmp_path / "costs")
    (tmp_path / "costs").mkdir()
    assert cost_table.main([str(tmp_path / "whole.json")]) == 0
    (name,) = report["targets"]  # the target's own name (a run shards by it)
    table = CostTable.load(tmp_path / "costs" / f"{name}.json")
    assert table.meta["target"] == name and " --discover " in table.meta["command"]
    # what is not one full run's report is refused in one line: a missing file, a shard
    assert cost_table.main([str(tmp_path / "missing.json")]) == 3
    assert "cost_table: cannot read" in capsys.readouterr().out


def test_merge_refuses_reports_of_different_runs(tmp_path):
    (tmp_path / "devs.toml").write_text(DEVIATIONS)
    _, first = _run(tmp_path, "s1", "--property", "forward", "--shard", "1/2")
    _, second = _run(tmp_path, "s2", "--property", "forward", "--shard", "2/2")
    ran_on = first["meta"]["software"]
    assert ran_on == second["meta"]["software"] and ran_on["ndpool"].startswith("0.")

    def variant(name, report, **meta):
        data = json.loads(json.dumps(report))
        data["meta"].update(meta)
        (tmp_path / name).write_text(json.dumps(data))
        return name

    cases = [
        (["s1.json", variant("seed.json", second, seed=2)], "seed differs"),
        (["s1.json", variant("profile.json", second, profile="ci")], "profile differs"),
        (["s1.json", variant("target.json", second, target="torch")], "target differs"),
        (["s1.json"], "1 cell(s) of the selection are in no report (e.g. avg_pool/forward)"),
        (["s1.json"], "; no report of shard(s) 2/2: the merge would not be the run"),
        (["s1.json", "s1.json"], "cell max_pool/forward is in s1.json and in s1.json"),
        (
            ["s1.json", variant("twice.json", second, cells=first["meta"]["cells"])],
            "is in s1.json and in twice.json",
        ),
        (["s1.json", "nope.json"], "cannot read nope.json"),
        (
            ["s1.json", variant("torch.json", second, software={**ran_on, "torch": "2.0.0"})],
            "ran on different software: torch: not recorded in s1.json, 2.0.0 in torch.json",
        ),
        (
            ["s1.json", variant("old.json", second, software={**ran_on, "ndpool": "0.0.1"})],
            f"ndpool: {ran_on['ndpool']} in s1.json, 0.0.1 in old.json",
        ),
        (["s1.json", "devs.toml"], "devs.toml is not JSON"),
    ]
    for paths, says in cases:
        out = ndpool(tmp_path, "report", "merge", *paths)
        assert out.returncode == EXIT_SETUP, (paths, cli_run.tail(out))
        lines = out.stdout.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ndpool report merge: set-up error:")
        assert says in lines[0], (paths, lines[0])
    ok = ndpool(tmp_path, "report", "merge", "s2.json", "s1.json")
    assert ok.returncode == 0, cli_run.tail(ok)  # max_pool forward forgiven, avg_pool conforms
    # one cost table reached by another path deals the same shards: the cells' partition,
    # not the table's name, is what makes them one run
    moved = variant("moved.json", second, costs="elsewhere/costs.json")
    ok = ndpool(tmp_path, "report", "merge", "s1.json", moved)
    assert ok.returncode == 0, cli_run.tail(ok)
    # the merge goes by cells: a part of another split that holds the missing ones fits
    other = variant("split.json", second, shard="3/3")
    ok = ndpool(tmp_path, "report", "merge", "s1.json", other)
    assert ok.returncode == 0, cli_run.tail(ok)


def test_an_empty_shard_checks_nothing_but_still_merges(tmp_path):
    args = ["check", "--target", "ndpool.spec", "--op", "max_pool", "--property", "forward"]
    args += ["--seed", "0"]
    one = ndpool(tmp_path, *args, "--shard", "1/2", "--report", "a.json")
    two = ndpool(tmp_path, *args, "--shard", "2/2", "--report", "b.json")
    assert one.returncode == 0, cli_run.tail(one)
    assert two.returncode == EXIT_NOTHING_CHECKED, cli_run.tail(two)
    assert "of shard 2/2" in two.stdout
    out = ndpool(tmp_path, "report", "merge", "a.json", "b.json", "--report", "m.md")
    assert out.returncode == 0, cli_run.tail(out)
    assert "| max_pool | pass |" in (tmp_path / "m.md").read_text()
