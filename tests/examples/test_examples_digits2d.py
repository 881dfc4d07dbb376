"""Smoke test of examples/digits2d: the --quick mode runs and writes well-formed results."""

import json
import os
import subprocess
import sys

from conftest import EXAMPLES, run_quick

POOLERS = ["max", "avg"]


def test_quick_mode_writes_results_for_every_requested_pooler(quick_study):
    result, _ = quick_study("digits2d", POOLERS)
    assert result["task"] == "digits2d" and result["spatial_rank"] == 2
    assert result["n_train"] == 1437 and result["n_test"] == 360, (
        result["n_train"],
        result["n_test"],
    )


def test_a_pooler_projected_over_the_time_budget_is_skipped_and_reported(quick_study):
    result, _ = quick_study(
        "digits2d", ["max"], "ndpool.impl", "--budget-s", "0.01", expect="skipped"
    )
    assert "runs" not in result["poolers"]["max"], "a skipped pooler must not have run"


def test_merge_reruns_the_named_poolers_into_the_recorded_results(tmp_path):
    """--merge: the rerun poolers' rows replace theirs in the results.json already in
    --out, the others stay as recorded, and the merge is listed; without --poolers, or
    with no recorded results, it refuses before training anything."""
    first = run_quick("digits2d", ["max", "avg"], tmp_path)
    out = tmp_path / "out"
    merged = run_quick("digits2d", ["avg"], tmp_path, "--merge")
    assert list(merged["poolers"]) == ["max", "avg"], list(merged["poolers"])
    assert merged["poolers"]["max"] == first["poolers"]["max"], "a kept row changed"
    accs = [[r["test_acc"] for r in res["poolers"]["avg"]["runs"]] for res in (first, merged)]
    assert accs[0] == accs[1], f"the seeded rerun of avg must repeat its accuracies: {accs}"
    (entry,) = merged["merged"]
    assert entry["poolers"] == ["avg"] and "--merge" in entry["argv"], entry
    assert "rerun and merged on" in (out / "results.md").read_text()
    assert json.loads((out / "results.json").read_text()) == merged

    run = [sys.executable, str(EXAMPLES / "digits2d" / "run.py"), "--quick", "--merge"]
    env = dict(os.environ, POOLING_STUDY_CACHE=str(tmp_path / "cache"))
    for extra, message in [
        (["--out", str(out)], "name them"),
        (["--out", str(tmp_path / "none"), "--poolers", "max"], "no recorded results"),
    ]:
        proc = subprocess.run(run + extra, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0 and message in proc.stderr, (extra, proc.stderr[-2000:])


def test_smooth_max_from_beta_1_kills_the_second_layer_relus(tmp_path):
    """The README's explanation of smooth max at beta0 = 1, measured by
    examples/pooling_study/smooth_max_offset.py: the offset log(4)/beta is about ten times
    the first layer's ReLU outputs, and after one epoch no layer-2 ReLU output is positive
    on any training image, where beta0 = 10 keeps channels alive."""
    out = tmp_path / "offset.json"
    cmd = [sys.executable, str(EXAMPLES / "pooling_study" / "smooth_max_offset.py"),
           "--task", "digits2d", "--epochs", "1", "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    init = result["initialisation"]
    relu = [s["relu1"]["mean"] for s in init["rows"]["max"]]
    assert 8 <= init["offset"]["1.0"] / max(relu) and init["offset"]["1.0"] / min(relu) <= 20, (
        init["offset"],
        relu,
    )
    rows = result["training"]["rows"]
    start, after = rows["smooth_max beta0=1"]["epochs"]
    assert start["relu2_alive_channels"] > 0, start
    assert after["relu2_alive_channels"] == 0 and after["relu2_share_positive"] == 0, after
    assert rows["smooth_max beta0=10"]["epochs"][-1]["relu2_alive_channels"] > 0
