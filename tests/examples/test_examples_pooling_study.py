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


def test_research_poolers_take_their_sources_set_ups():
    """The study's layers are the sources' (issue 18): gated pooling with a per-channel
    bias and a convolution's uniform initialisation, Lp in the mean form with one p per
    layer, Gumbel's rectified temperature per channel and output position, smooth max
    from beta = 10, quantile from alpha = 10."""
    from ndpool import impl

    def build(name, channels=16, spatial=(8, 8)):
        torch.manual_seed(0)
        return resolve(name, 2).make(channels, spatial)

    gated = build("gated")
    assert gated.bias.shape == (16,) and gated.omega.shape == (16, 4), gated
    bound = 1 / 2  # 1 / sqrt(K), K = 4
    for p in (gated.omega, gated.bias):
        assert bool((p.abs() <= bound).all()) and p.abs().min() > 0 and p.unique().numel() > 1
    lp = build("lp")
    assert isinstance(lp, impl.LpPool) and lp.reduction == "mean", lp
    assert lp.log_p.shape == () and float(lp.value().detach()) == pytest.approx(2.0), lp.log_p
    gumbel = build("gumbel")
    assert (gumbel.parametrization, gumbel.init) == ("rectified", "uniform"), gumbel
    assert gumbel.raw_temperature.shape == (16, 4, 4)
    assert float(build("smooth_max").value().detach().min()) == pytest.approx(10.0)
    assert float(build("quantile").constrained("alpha").detach().min()) == pytest.approx(10.0)


def _result(poolers, epochs=10, seconds=5.0):
    def ok(mean):
        return {"status": "ok", "test_acc_mean": mean, "test_acc_std": 0.01, "runs": [{}] * 3,
                "best_lr": 1e-3, "best_val_acc": 0.9, "note": "", "seconds": 1.0}  # fmt: skip

    return {
        "task": "t", "description": "", "n_train": 10, "n_test": 5, "torch": "x",
        "seconds": seconds,
        "protocol": {"lr_grid": [1e-3, 1e-2], "val_fraction": 0.2, "tune_seed": 1,
                     "batch_size": 64, "epochs": epochs, "seeds": [0, 1, 2], "threads": 1,
                     "jobs": 2, "impl_module": "m", "split_seed": 3, "train_subset": None,
                     "test_subset": None, "budget_s": None},
        "original": {},
        "poolers": {name: ok(mean) for name, mean in poolers.items()},
    }  # fmt: skip


def test_merge_replaces_the_rerun_rows_and_keeps_the_others():
    recorded = _result({"max": 0.95, "lp": 0.90, "gated": 0.91, "avg": 0.93}, seconds=100.0)
    rerun = _result({"lp": 0.96, "gated": 0.92}, seconds=7.0)
    rerun["protocol"]["threads"] = 2  # threads and jobs change the seconds, not the protocol
    merged = report.merge(recorded, rerun, argv=["--poolers", "lp,gated", "--merge"])
    assert list(merged["poolers"]) == ["max", "lp", "gated", "avg"], "the table order is kept"
    assert merged["poolers"]["lp"]["test_acc_mean"] == 0.96
    assert merged["poolers"]["gated"]["test_acc_mean"] == 0.92
    assert merged["poolers"]["max"] is recorded["poolers"]["max"]
    assert merged["seconds"] == 100.0, "the recorded run's total is kept"
    (entry,) = merged["merged"]
    assert entry["poolers"] == ["lp", "gated"] and entry["seconds"] == 7.0, entry
    assert entry["argv"] == ["--poolers", "lp,gated", "--merge"] and entry["threads"] == 2
    assert "lp" in recorded["poolers"] and recorded["poolers"]["lp"]["test_acc_mean"] == 0.90
    text = report.markdown(merged)
    assert "rerun and merged on" in text and "lp, gated (7 s" in text, text
    assert text.index("| 1 | lp | 0.9600") < text.index("| 2 | max | 0.9500"), text
    again = report.merge(merged, _result({"avg": 0.94}))
    assert [m["poolers"] for m in again["merged"]] == [["lp", "gated"], ["avg"]]


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["protocol"].update(epochs=5),
        lambda r: r["protocol"].update(seeds=[0]),
        lambda r: r["protocol"].update(lr_grid=[1e-3]),
        lambda r: r.update(n_train=11),
    ],
)
def test_merge_refuses_a_rerun_of_another_protocol(change):
    recorded = _result({"max": 0.95, "lp": 0.90})
    rerun = _result({"lp": 0.96})
    change(rerun)
    with pytest.raises(ValueError, match="another protocol"):
        report.merge(recorded, rerun)
