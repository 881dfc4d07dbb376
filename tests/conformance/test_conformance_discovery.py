"""Distinct-failure discovery, examples kept out of registered regions, checkable
conventions (conformance/discovery.py, runner.CheckContext, strategies._choose)."""

from __future__ import annotations

import doctest
import json
import sys

import cli_run
import numpy as np
import pytest

from ndpool.conformance import discovery
from ndpool.conformance.cases import Case
from ndpool.conformance.gate import EXIT_CONFORMANT, EXIT_NOT_CONFORMANT
from ndpool.conformance.reporting import Matrix, to_html, to_json, to_markdown
from ndpool.conformance.runner import CheckContext

sys.path.insert(0, str(cli_run.FIXTURES))
# a fixture module, importable once FIXTURES is on the path
import broken_targets

TWO = ["--target", "broken_targets:two_defects", "--op", "max_pool", "--property", "forward"]


def test_discovery_doctests():
    assert doctest.testmod(discovery, verbose=False).failed == 0


def test_without_discovery_one_defect_hides_the_other():
    ctx = CheckContext(broken_targets.two_defects(), seed=3, discover=False)
    outcome = ctx.run("max_pool", "forward")
    assert outcome.status == "fail" and not outcome.findings
    assert ("float16" in outcome.message) != (
        "differ from the spec" in outcome.message.split("\n")[1]
    )


def test_discovery_lists_both_defects_each_with_its_own_example():
    ctx = CheckContext(broken_targets.two_defects(), seed=3, discover=True)
    outcome = ctx.run("max_pool", "forward")
    assert outcome.status == "fail"
    kinds = [f["kind"] for f in outcome.findings]
    raised = [k for k in kinds if "NotImplementedError" in k]
    wrong = [k for k in kinds if "elements differ from the spec" in k]
    assert raised and wrong, kinds
    # the wrong value's region names the NaN and the dtype; a raise is told by its message
    regions = {f["kind"]: f["region"] for f in outcome.findings}
    assert any(regions[k].get("nonfinite_input") for k in wrong), outcome.findings
    assert all("dtype" in regions[k] for k in wrong), outcome.findings
    assert all("dtype" not in regions[k] for k in raised), outcome.findings
    assert "distinct failure(s) (discovery)" in outcome.message
    assert outcome.message.count("reproducer:") >= len(kinds)


def test_discovery_on_the_command_line_one_line_per_failure(tmp_path):
    out = cli_run.ndpool(tmp_path, "check", *TWO, "--seed", "3", "--discover", "--report", "r.json")
    assert out.returncode == EXIT_NOT_CONFORMANT, cli_run.tail(out)
    lines = [
        line for line in out.stdout.splitlines() if line.startswith("FAIL: max_pool / forward")
    ]
    assert len(lines) >= 2 and "reproducer:" not in out.stdout, cli_run.tail(out)
    report = json.loads((tmp_path / "r.json").read_text())["targets"]["two_defects"]
    assert len(report["findings"]["max_pool"]["forward"]) == len(lines)
    assert "--discover" in out.stdout  # the replay command keeps discovery on


def test_discovery_goes_on_past_a_crash(tmp_path):
    """A crash ends the worker, not the search: the cell runs again in a new worker with the
    crash's region set aside, and the wrong value behind it is found too."""
    args = ["--target", "broken_targets:crash_and_defect", "--op", "max_pool"]
    args += ["--property", "forward", "--seed", "3", "--discover", "--report", "r.json"]
    out = cli_run.ndpool(tmp_path, "check", *args)
    assert out.returncode == EXIT_NOT_CONFORMANT, cli_run.tail(out)
    assert "searching on" in out.stdout, cli_run.tail(out)
    found = json.loads((tmp_path / "r.json").read_text())["targets"]["crash_and_defect"]
    found = found["findings"]["max_pool"]["forward"]
    crashes = [f for f in found if f.get("crash")]
    wrong = [f for f in found if "elements differ from the spec" in f["kind"]]
    assert crashes and wrong, [f["kind"] for f in found]
    assert all("crashed the process (signal SIGABRT)" in f["kind"] for f in crashes)
    assert all(f["region"]["dtype"] == "float16" for f in crashes), crashes
    assert all(f["region"]["dtype"] != "float16" for f in wrong), wrong


def test_without_discovery_a_crash_ends_its_cell(tmp_path):
    args = ["--target", "broken_targets:crash_and_defect", "--op", "max_pool"]
    args += ["--property", "forward", "--seed", "3", "--report", "r.json"]
    out = cli_run.ndpool(tmp_path, "check", *args)
    assert out.returncode == EXIT_NOT_CONFORMANT, cli_run.tail(out)
    assert "searching on" not in out.stdout, cli_run.tail(out)
    assert "the target crashed the process (signal SIGABRT)" in out.stdout


def test_registered_regions_are_not_drawn_into(tmp_path):
    """A float16 region is pruned from the draws (the target never sees float16 outside
    the pins); a NaN region is found after the draw and set aside, not counted."""
    registry = tmp_path / "two.toml"
    registry.write_text(
        '[[deviation]]\nid = "no-half"\nproperty = "*"\nop = "max_pool"\n'
        'scope = { dtype = "float16" }\nreason = "not implemented"\n'
        '[[deviation]]\nid = "nan-zero"\nproperty = "forward"\nop = "max_pool"\n'
        'scope = { nonfinite_input = true }\nreason = "a NaN window gives 0"\n'
    )
    target = broken_targets.two_defects()
    seen = []
    ctx = CheckContext(target, seed=5, deviations=registry, max_examples=60, corpus=False)
    ctx.observer = lambda case, what, args: seen.append(case)
    outcome = ctx.run("max_pool", "forward")
    assert outcome.status == "pass", outcome.message
    assert seen and all(c.dtype != "float16" for c in seen)
    assert not any(np.isnan(c.x).any() or np.isinf(c.x).any() for c in seen)
    assert outcome.excluded_by.get("no-half", 0) == 0  # pruned, never drawn
    assert outcome.excluded_by.get("nan-zero", 0) > 0  # drawn, set aside uncounted
    assert outcome.checked == outcome.examples - outcome.excluded
    assert len(seen) >= 60  # the budget is spent outside the regions


def test_conventions_spec_shows_a_declared_convention_as_a_difference(tmp_path):
    cell = ["--target", "broken_targets:ordered_zeros", "--op", "max_pool", "--seed", "0"]
    cell += ["--property", "forward"]
    declared = cli_run.ndpool(tmp_path, "check", *cell)
    assert declared.returncode == EXIT_CONFORMANT, cli_run.tail(declared)
    as_spec = cli_run.ndpool(tmp_path, "check", *cell, "--conventions", "spec", "-v")
    assert as_spec.returncode == EXIT_NOT_CONFORMANT, cli_run.tail(as_spec)
    assert "signed_zeros" not in as_spec.stdout.split("reproducer:")[1].split("print")[0]
    assert "--conventions spec" in as_spec.stdout


def test_reports_hold_every_counterexample_in_full():
    matrix = Matrix()
    message = "forward: 1 of 1 elements differ from the spec\n" + "x" * 20000 + "\nEND"
    matrix.set("t", "max_pool", "forward", "fail", message)
    for text in (to_markdown(matrix), to_html(matrix), json.dumps(to_json(matrix))):
        assert "x" * 20000 in text and "END" in text


def test_a_region_covers_a_failure_of_its_kind_only():
    x = np.array([[[1.0, np.nan, 2.0]]])
    case = Case("max_pool", x, cfg={"kernel_size": 2}, dtype="float32")
    found = discovery.Finding.of("forward: 1 of 2 elements differ from the spec\n...", case)
    assert found.region["dtype"] == "float32" and found.region["nonfinite_input"]
    assert found.covers("forward: N of N elements differ from the spec", case)
    assert not found.covers("forward: the target raised ValueError: bad", case)
    plain = Case("max_pool", np.array([[[1.0, 3.0, 2.0]]]), cfg={"kernel_size": 2}, dtype="float32")
    assert not found.covers(found.kind, plain)


def test_unregistered_names_the_entry_behind_each_distinct_failure(tmp_path):
    pytest.importorskip("torch")
    cell = ["--target", "torch", "--op", "max_pool", "--property", "indices", "--seed", "1"]
    out = cli_run.ndpool(
        tmp_path, "check", *cell, "--discover", "--unregistered", "--report", "r.json"
    )
    assert out.returncode == EXIT_NOT_CONFORMANT, cli_run.tail(out)
    assert "-- registered as nan-last-wins" in out.stdout, cli_run.tail(out)
    coverage = json.loads((tmp_path / "r.json").read_text())["targets"]["torch"][
        "registry_coverage"
    ]
    assert "nan-last-wins" in coverage["found"] and "nan-last-wins" not in coverage["not_found"]
    assert "registry set aside:" in out.stdout


def test_a_suite_error_after_findings_leaves_the_cell_an_error():
    """The findings stay listed, but a search that ended on the suite's own error reads
    "error" (a suite bug to look at), not "fail"."""
    from ndpool.conformance.properties import SuiteError

    ctx = CheckContext(broken_targets.two_defects(), seed=3, discover=True)
    searched = ctx._example

    def then_a_suite_error(op, prop, tally, pin=None, *args, attempt=0, **kwargs):
        if pin is None:  # the pins found the defects; the drawn search then breaks
            return "error", "the suite broke", SuiteError("the suite broke")
        return searched(op, prop, tally, pin, *args, attempt=attempt, **kwargs)

    ctx._example = then_a_suite_error
    outcome = ctx.run("max_pool", "forward")
    assert outcome.status == "error", outcome.message
    assert outcome.findings and "and then:\nthe suite broke" in outcome.message


def test_inapplicable_draws_are_not_counted_as_examples():
    """A draw the property finds inapplicable (a failed ``assume``) is no example: a
    passing cell counts at most its budget, its pins and the examples set aside (onnxruntime
    rejects most drawn adaptive max pools: thousands of draws for the 12 of the budget)."""
    pytest.importorskip("onnxruntime")
    from ndpool.conformance.targets import load_target

    ctx = CheckContext(load_target("onnxruntime"), seed=0, profile="quick")
    outcome = ctx.run("adaptive_max_pool", "forward")
    assert outcome.status == "pass", outcome.message
    pins = len(ctx.pins("adaptive_max_pool", "forward"))
    assert outcome.examples <= ctx.examples + pins + outcome.excluded, outcome


def test_a_pin_that_fails_as_a_found_failure_redraws_only_a_few_times():
    """With discovery, a pin whose example fails as a failure found already draws its free
    parts anew (another dtype, another layout), but only ``PIN_REDRAWS`` times: where the
    edge itself is the failure every redraw is set aside, and Hypothesis alone would go
    on to 1000 calls per pin (the thorough corpus has hundreds of pins per cell)."""
    from ndpool.conformance.runner import PIN_REDRAWS, CheckContext, Tally
    from ndpool.conformance.tools.mutants import MUTANTS

    ctx = CheckContext(MUTANTS["max-nan-dropped"].target(), profile="thorough", seed=0)
    findings, per_pin = [], []
    for _, pin in ctx.pins("max_pool", "forward"):
        tally = Tally()
        status, _, exc = ctx._example("max_pool", "forward", tally, pin, findings=findings)
        if status == "fail":
            findings += ctx._findings("max_pool", "forward", exc)
        per_pin.append((tally.calls, tally.repeats))
    assert findings
    assert any(repeats for _, repeats in per_pin), "no pin repeated a found failure"
    assert max(calls for calls, _ in per_pin) <= PIN_REDRAWS + 2 <= 16, per_pin
