"""The shared machinery of the examples: pooler table, splits, learning-rate grid, report."""

import itertools
import sys
import types
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from pooling_study import report
from pooling_study.poolers import POOLERS, learned_values, resolve
from pooling_study.protocol import lr_grid
from pooling_study.training import Split, train_validation_split


def test_a_missing_impl_class_resolves_to_unavailable_with_its_name(monkeypatch):
    fake = types.ModuleType("fake_impl")
    fake.MaxPool = lambda **kw: nn.Identity()
    monkeypatch.setitem(sys.modules, "fake_impl", fake)
    assert resolve("max", 1, impl_module="fake_impl").available
    missing = resolve("quantile", 1, impl_module="fake_impl")
    assert not missing.available and missing.make is None
    assert missing.reason == "unavailable: fake_impl has no QuantilePool", missing.reason


def test_every_entry_builds_a_kernel_2_stride_2_window_of_the_requested_rank():
    seen = {}

    class Recorder:
        def __init__(self, *args, **kwargs):
            seen.update(kwargs)

    for name, entry in POOLERS.items():
        seen.clear()
        entry.build(Recorder, 32, 2, (8, 8))
        assert seen["kernel_size"] == (2, 2) and seen["stride"] == (2, 2), (name, seen)


def test_learned_values_are_read_through_the_entry_and_flattened():
    layer = types.SimpleNamespace(value=lambda: torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert learned_values(POOLERS["lp"], layer) == {"p": [1.0, 2.0, 3.0, 4.0]}
    assert learned_values(POOLERS["max"], layer) == {}


def test_validation_split_is_a_disjoint_cover_of_the_training_data():
    data = Split(torch.arange(100.0).reshape(100, 1, 1), torch.arange(100))
    fit, val = train_validation_split(data, 0.2, seed=3)
    assert len(val) == 20 and len(fit) == 80
    assert sorted(fit.y.tolist() + val.y.tolist()) == list(range(100))
    again, _ = train_validation_split(data, 0.2, seed=3)
    assert torch.equal(fit.y, again.y), "the split must be a function of its seed"


@pytest.mark.parametrize("trials", [1, 4, 8])
def test_lr_grid_is_log_spaced_within_its_bounds(trials):
    grid = lr_grid(trials)
    assert len(grid) == trials and all(10**-3.5 * 0.999 <= lr <= 10**-1.5 * 1.001 for lr in grid)
    ratios = [b / a for a, b in itertools.pairwise(grid)]
    assert all(r == pytest.approx(ratios[0]) for r in ratios), ratios


def test_markdown_ranks_by_mean_and_lists_what_did_not_run():
    def ok(mean, std):
        return {"status": "ok", "test_acc_mean": mean, "test_acc_std": std, "runs": [{}] * 3,
                "best_lr": 1e-3, "best_val_acc": 0.9, "note": ""}  # fmt: skip

    result = {
        "task": "t", "description": "", "n_train": 1, "n_test": 1, "torch": "x", "seconds": 1.0,
        "protocol": {"lr_grid": [1e-3], "val_fraction": 0.2, "tune_seed": 1, "batch_size": 64,
                     "epochs": 1, "seeds": [0, 1, 2], "threads": 2, "impl_module": "m"},
        "original": {"max": {"mean": 0.95, "std": 0.01}},
        "poolers": {
            "avg": ok(0.90, 0.01),
            "max": ok(0.93, 0.02),
            "gated": {"status": "unavailable", "reason": "unavailable: m has no GatedPool",
                      "note": ""},
        },
    }  # fmt: skip
    text = report.markdown(result)
    assert text.index("| 1 | max | 0.9300 ± 0.0200") < text.index("| 2 | avg | 0.9000 ± 0.0100")
    assert "| 0.9500 ± 0.0100 |" in text, "the original's number next to max"
    assert "- gated (unavailable): unavailable: m has no GatedPool" in text
