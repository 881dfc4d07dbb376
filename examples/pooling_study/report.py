"""Writing a study's result: ``results.json``, ``results.md`` and the plots."""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def _ran(result: dict) -> list[tuple[str, dict]]:
    """The poolers that ran, best mean test accuracy first."""
    ok = [(n, r) for n, r in result["poolers"].items() if r["status"] == "ok"]
    return sorted(ok, key=lambda item: -item[1]["test_acc_mean"])


def _pm(mean: float, std: float | None) -> str:
    return f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f}"


def markdown(result: dict) -> str:
    p = result["protocol"]
    lrs = ", ".join(f"{lr:.3g}" for lr in p["lr_grid"])
    lines = [
        f"# Pooling study: {result['task']}",
        "",
        result["description"],
        "",
        f"- {result['n_train']} training / {result['n_test']} test samples; "
        f"learning rate tuned on a {p['val_fraction']:.0%} validation split of the training data",
        f"- learning-rate grid ({len(p['lr_grid'])} trials, tuning seed {p['tune_seed']}): {lrs}",
        f"- Adam, batch {p['batch_size']}, {p['epochs']} epochs; "
        f"test accuracy mean ± sample std (ddof 1) over seeds {list(p['seeds'])}",
        f"- poolers from `{p['impl_module']}`; torch {result['torch']}, {p['threads']} threads, "
        f"{result['seconds']:.0f} s in all",
        *(
            f"- rerun and merged on {m['date']}: {', '.join(m['poolers'])} "
            f"({m['seconds']:.0f} s, {m['jobs']} jobs of {m['threads']} threads)"
            for m in result.get("merged", [])
        ),
        "",
        "| rank | pooler | test accuracy | seeds | best lr | val accuracy |"
        + (" original |" if result["original"] else ""),
        "|---:|---|---|---:|---:|---:|" + ("---|" if result["original"] else ""),
    ]
    for rank, (name, r) in enumerate(_ran(result), 1):
        row = (
            f"| {rank} | {name} | {_pm(r['test_acc_mean'], r['test_acc_std'])} | "
            f"{len(r['runs'])} | {r['best_lr']:.3g} | {r['best_val_acc']:.4f} |"
        )
        if result["original"]:
            orig = result["original"].get(name)
            row += f" {_pm(orig['mean'], orig['std']) if orig else ''} |"
        lines.append(row)
    not_run = [(n, r) for n, r in result["poolers"].items() if r["status"] != "ok"]
    if not_run:
        lines += ["", "Not run:", ""]
        lines += [f"- {n} ({r['status']}): {r['reason']}" for n, r in not_run]
    notes = [(n, r["note"]) for n, r in result["poolers"].items() if r.get("note")]
    if notes:
        lines += ["", "Poolers:", ""]
        lines += [f"- {n}: {note}" for n, note in notes]
    return "\n".join(lines) + "\n"


def plot_accuracy(result: dict, path: Path) -> None:
    """Mean test accuracy per pooler with ±std bars, the single seeds, the original's numbers."""
    ran = _ran(result)
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(len(ran), 2) + 1.2))
    for i, (name, r) in enumerate(ran):
        accs = [run["test_acc"] for run in r["runs"]]
        ax.errorbar(
            r["test_acc_mean"],
            i,
            xerr=r["test_acc_std"] or 0.0,
            fmt="o",
            color="C0",
            capsize=4,
            label="this study (mean ± std)" if i == 0 else None,
        )
        ax.plot(accs, [i] * len(accs), "|", color="C0", alpha=0.5, markersize=10)
        orig = result["original"].get(name)
        if orig:
            ax.errorbar(
                orig["mean"],
                i + 0.25,
                xerr=orig["std"],
                fmt="s",
                color="C3",
                capsize=3,
                markersize=4,
                label="original report",
            )
    ax.set_yticks(range(len(ran)), [name for name, _ in ran])
    ax.invert_yaxis()
    ax.set_xlabel("test accuracy")
    ax.set_title(f"{result['task']}: test accuracy per pooler")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="lower left", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_learned(result: dict, pooler: str, attr: str, path: Path) -> bool:
    """The learned ``attr`` per channel of every pooling layer of ``pooler``, over the seeds.

    Left: per channel, the seeds' values and their mean; right: their histogram.
    Returns False (and writes nothing) when the pooler did not run or learned no ``attr``.
    """
    r = result["poolers"].get(pooler)
    if r is None or r["status"] != "ok":
        return False
    n_layers = len(r["runs"][0]["learned"])
    per_layer = [
        np.array([run["learned"][k][attr] for run in r["runs"] if attr in run["learned"][k]])
        for k in range(n_layers)
    ]
    if not any(v.size for v in per_layer):
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    for k, values in enumerate(per_layer):
        if not values.size:
            continue
        channels = np.arange(values.shape[1])
        for seed_values in values:
            left.plot(channels, seed_values, ".", color=f"C{k}", alpha=0.35)
        left.plot(channels, values.mean(axis=0), "-", color=f"C{k}", label=f"pool layer {k + 1}")
        right.hist(values.ravel(), bins=20, alpha=0.6, color=f"C{k}", label=f"pool layer {k + 1}")
    left.set_xlabel("channel")
    left.set_ylabel(attr)
    left.set_title(f"learned {attr} per channel (dots: seeds, line: mean)")
    left.legend(fontsize=8)
    right.set_xlabel(attr)
    right.set_ylabel("channels × seeds")
    right.set_title(f"histogram of learned {attr}")
    fig.suptitle(f"{result['task']}: {pooler} pooler")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _finite(value):
    """``value`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# What a result's numbers depend on: a rerun merged into a recorded result must agree on these
# (thread count, jobs and the time budget change the seconds, not the protocol).
PROTOCOL_KEYS = ("epochs", "batch_size", "lr_grid", "seeds", "tune_seed", "val_fraction",
                 "split_seed", "train_subset", "test_subset", "impl_module")  # fmt: skip


def load(out_dir: Path) -> dict:
    """The ``results.json`` recorded in ``out_dir`` (``SystemExit`` when there is none)."""
    path = out_dir / "results.json"
    if not path.exists():
        raise SystemExit(f"--merge: no recorded results in {path}")
    return json.loads(path.read_text())


def merge(recorded: dict, rerun: dict, argv: list[str] | None = None) -> dict:
    """``recorded`` with the rows of the poolers in ``rerun`` replaced by the rerun's.

    Every other pooler's row, the table order and the recorded total seconds are kept;
    the rerun is appended to ``merged`` (date, poolers, seconds, threads, jobs, torch,
    arguments). Refused (``ValueError``) when the two differ in task, data sizes or any
    of ``PROTOCOL_KEYS``: rows of different protocols do not share a table.
    """
    differ = [
        key for key in ("task", "n_train", "n_test") if recorded.get(key) != rerun.get(key)
    ] + [
        f"protocol.{key}"
        for key in PROTOCOL_KEYS
        if _finite(recorded["protocol"].get(key)) != _finite(rerun["protocol"].get(key))
    ]
    if differ:
        shown = "; ".join(
            f"{k}: recorded {_field(recorded, k)!r}, rerun {_field(rerun, k)!r}" for k in differ
        )
        raise ValueError(f"cannot merge a rerun of another protocol ({shown})")
    merged = dict(recorded)
    poolers = dict(recorded["poolers"])
    poolers.update(rerun["poolers"])
    merged["poolers"] = poolers
    merged["merged"] = [
        *recorded.get("merged", []),
        {
            "date": time.strftime("%Y-%m-%d"),
            "poolers": list(rerun["poolers"]),
            "seconds": rerun["seconds"],
            "threads": rerun["protocol"]["threads"],
            "jobs": rerun["protocol"]["jobs"],
            "torch": rerun["torch"],
            "argv": list(argv or []),
        },
    ]
    return merged


def _field(result: dict, key: str):
    head, _, tail = key.partition(".")
    return result["protocol"].get(tail) if tail else result.get(head)


def write(result: dict, out_dir: Path) -> list[Path]:
    """Write the JSON, the Markdown table and the plots into ``out_dir``; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "results.json", out_dir / "results.md", out_dir / "accuracy.png"]
    paths[0].write_text(json.dumps(_finite(result), indent=2, allow_nan=False) + "\n")
    paths[1].write_text(markdown(result))
    plot_accuracy(result, paths[2])
    if plot_learned(result, "quantile", "q", out_dir / "learned_q.png"):
        paths.append(out_dir / "learned_q.png")
    return paths
