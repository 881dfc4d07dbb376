"""Smoke test of examples/mnist1d: the --quick mode runs and writes well-formed results."""

import math

import pytest

POOLERS = ["max", "avg", "lp"]


def test_quick_mode_writes_results_for_every_requested_pooler(quick_study):
    result, _ = quick_study("mnist1d", POOLERS)
    assert result["task"] == "mnist1d" and result["spatial_rank"] == 1
    assert result["n_train"] == 2000 and result["n_test"] == 500, (
        result["n_train"],
        result["n_test"],
    )
    assert set(result["original"]) == {"quantile", "max", "lp", "avg", "median"}

    # the learned p of both Lp layers (the source's one p per layer) is recorded, and it
    # moved in training
    lp = result["poolers"]["lp"]
    if lp["status"] != "ok":
        pytest.skip(lp["reason"])
    (run,) = lp["runs"]
    assert [len(layer["p"]) for layer in run["learned"]] == [1, 1], run["learned"]
    p = [v for layer in run["learned"] for v in layer["p"]]
    assert all(math.isfinite(v) and v > 0 for v in p), p
    assert any(v != 2.0 for v in p), "p did not move from its initial value 2 in training"


def test_missing_impl_classes_are_reported_not_replaced(quick_study):
    # `math` has none of the pooler classes: every pooler must be "unavailable", none run.
    result, out = quick_study("mnist1d", ["max", "quantile"], impl="math")
    assert [r["status"] for r in result["poolers"].values()] == ["unavailable"] * 2, result[
        "poolers"
    ]
    assert result["poolers"]["quantile"]["reason"] == "unavailable: math has no QuantilePool"
    assert not (out / "learned_q.png").exists()


def test_parallel_jobs_give_the_sequential_results(tmp_path):
    """--jobs 2 studies the poolers in two worker processes: every model seeds itself, so
    the results (accuracies, chosen learning rates, pooler order) are the sequential run's."""
    from conftest import run_quick

    pair = ["avg", "max"]
    one = run_quick("mnist1d", pair, tmp_path / "one", "--threads", "1")
    two = run_quick("mnist1d", pair, tmp_path / "two", "--threads", "1", "--jobs", "2")
    assert list(two["poolers"]) == pair and two["protocol"]["jobs"] == 2
    for name in pair:
        a, b = one["poolers"][name], two["poolers"][name]
        assert b["status"] == a["status"] == "ok", (a, b)
        assert [r["test_acc"] for r in b["runs"]] == [r["test_acc"] for r in a["runs"]], name
        assert b["best_lr"] == a["best_lr"], name
