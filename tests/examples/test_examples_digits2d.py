"""Smoke test of examples/digits2d: the --quick mode runs and writes well-formed results."""

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
