"""The tables of the studies page (docs/studies.md), read from the studies' results files.

``examples/mnist1d/results/full/results.json`` and ``examples/digits2d/results/full/results.json``
are what ``examples/<task>/run.py`` wrote (and ``--merge`` updated); nothing here is typed
from them by hand. ``accuracy()`` is one row per pooler: each study's test accuracy (mean ±
sample std over its seeds) and the source's reported figure where the results file has one
(MNIST-1D's ``original``). ``protocol()`` sets the source's MNIST-1D protocol, recorded in
``SOURCE_PROTOCOL`` from the source's code (see the MNIST-1D README), next to the two
protocols the results files state.

The page asks for them with ``<!-- ndpool:studies accuracy -->`` and
``<!-- ndpool:studies protocol -->`` (docs/hooks/ndpool_docs.py).
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STUDIES = {
    "mnist1d": ROOT / "examples" / "mnist1d" / "results" / "full" / "results.json",
    "digits2d": ROOT / "examples" / "digits2d" / "results" / "full" / "results.json",
}
TITLES = {"mnist1d": "MNIST-1D", "digits2d": "8×8 digits"}
DATA = {
    "mnist1d": "MNIST-1D, `num_samples = 10 000`",
    "digits2d": "scikit-learn's 8×8 digits (1 797 images), a stratified 80/20 split",
}

#: the source's MNIST-1D protocol (its compare.py, recorded in examples/mnist1d/README.md)
SOURCE_PROTOCOL = {
    "data": "MNIST-1D, `num_samples = 10 000` (8000 train / 2000 test)",
    "splits": "none: the test set is also the tuning set",
    "epochs": "5 per tuning trial, 10 per final run",
    "lr selection": "8 Optuna (TPE) trials over [1e-4, 1e-2], scored on the **test** set",
    "seeds": "2 final runs without a seed; std with ddof 0",
}


def load(task: str, path: Path | None = None) -> dict:
    """The results file of ``task`` (``path`` overrides where it is read from)."""
    return json.loads((path or STUDIES[task]).read_text(encoding="utf-8"))


def _pm(mean: float, std: float | None) -> str:
    return f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f}"


def _cell(result: dict, name: str) -> str:
    record = result["poolers"].get(name)
    if record is None:
        return "not run"
    if record["status"] != "ok":
        return record["status"]
    return _pm(record["test_acc_mean"], record["test_acc_std"])


def _seeds(result: dict) -> str:
    seeds = result["protocol"]["seeds"]
    return f"{len(seeds)} seeds"


def accuracy(results: dict[str, dict] | None = None) -> str:
    """The accuracy table: one row per pooler of either study, best MNIST-1D mean first."""
    results = results or {task: load(task) for task in STUDIES}
    mnist, digits = results["mnist1d"], results["digits2d"]
    names = list(dict.fromkeys([*mnist["poolers"], *digits["poolers"]]))

    def mean(name: str) -> float:
        record = mnist["poolers"].get(name, {})
        return record.get("test_acc_mean", -1.0) if record.get("status") == "ok" else -1.0

    lines = [
        f"| pooler | MNIST-1D test accuracy (mean ± std, {_seeds(mnist)}) "
        f"| digits test accuracy (mean ± std, {_seeds(digits)}) "
        "| source's MNIST-1D figure (as reported: 2 unseeded runs, ddof 0) |",
        "|---|---|---|---|",
    ]
    for name in sorted(names, key=lambda n: -mean(n)):
        original = mnist.get("original", {}).get(name)
        source = _pm(original["mean"], original["std"]) if original else ""
        lines.append(f"| {name} | {_cell(mnist, name)} | {_cell(digits, name)} | {source} |")
    reruns = [
        f"{TITLES[task]}: {', '.join(m['poolers'])} rerun on {m['date']} ({m['seconds']:.0f} s)"
        for task, result in results.items()
        for m in result.get("merged", [])
    ]
    if reruns:
        lines += ["", "Rows merged from reruns: " + "; ".join(reruns) + "."]
    return "\n".join(lines)


def _ours(result: dict) -> dict[str, str]:
    p = result["protocol"]
    grid = p["lr_grid"]
    n_val = round(p["val_fraction"] * result["n_train"])
    seeds = ", ".join(str(s) for s in p["seeds"])
    return {
        "data": f"{DATA[result['task']]} ({result['n_train']} train / {result['n_test']} test)",
        "splits": f"a {p['val_fraction']:.0%} validation split of the training data "
        f"({n_val} samples, seed {p['split_seed']}) for the learning rate; test set scored once",
        "epochs": f"{p['epochs']} per tuning trial, {p['epochs']} per final run",
        "lr selection": f"fixed log grid of {len(grid)} rates over "
        f"[{grid[0]:.3g}, {grid[-1]:.3g}], scored on the validation split "
        f"(tuning seed {p['tune_seed']})",
        "seeds": f"{len(p['seeds'])} seeded runs ({seeds}); sample std (ddof 1)",
    }


def protocol(results: dict[str, dict] | None = None) -> str:
    """The protocols side by side: the source's MNIST-1D one, ours on MNIST-1D and digits."""
    results = results or {task: load(task) for task in STUDIES}
    ours = {task: _ours(result) for task, result in results.items()}
    lines = [
        "| | MNIST-1D, the source | MNIST-1D, here | 8×8 digits, here |",
        "|---|---|---|---|",
    ]
    for key, source in SOURCE_PROTOCOL.items():
        lines.append(f"| {key} | {source} | {ours['mnist1d'][key]} | {ours['digits2d'][key]} |")
    return "\n".join(lines)


TABLES = {"accuracy": accuracy, "protocol": protocol}


def markdown(which: str) -> str:
    """The table named ``which`` (``accuracy`` or ``protocol``)."""
    return TABLES[which]()
