"""The study protocol: per pooler, tune the learning rate on a validation split, then seeds.

For every requested pooler:

1. **learning-rate search** on a validation split carved from the *training* data
   (the test set is never looked at): one model per learning rate of a fixed
   log-spaced grid, trained on the rest of the training data with the tuning
   seed, scored by validation accuracy. The best one wins (the smaller learning
   rate on a tie). The grid is the same for every pooler.
2. **evaluation**: with that learning rate, one model per evaluation seed trained
   on the whole training data and scored on the test set; mean and sample
   standard deviation (ddof = 1) over the seeds.

A pooler whose ``ndpool.impl`` class does not exist is recorded as unavailable;
one that raises while building or training is recorded as failed with the error.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from .poolers import learned_values, resolve
from .training import Dataset, Split, accuracy, seed_everything, train, train_validation_split


@dataclass(frozen=True)
class Protocol:
    epochs: int = 10
    batch_size: int = 64
    lr_grid: tuple[float, ...] = tuple(float(v) for v in np.geomspace(10**-3.5, 10**-1.5, 8))
    seeds: tuple[int, ...] = (0, 1, 2)
    tune_seed: int = 100
    val_fraction: float = 0.2
    split_seed: int = 12345
    train_subset: int | None = None  # quick mode: use only this many training samples
    test_subset: int | None = None
    threads: int = 2
    impl_module: str = "ndpool.impl"  # where the pooler table looks its classes up
    budget_s: float | None = None  # skip a pooler whose projected time exceeds what is left
    jobs: int = 1  # poolers studied at once, each in its own process with `threads` threads

    def as_dict(self) -> dict:
        return asdict(self)


def lr_grid(trials: int, low: float = 10**-3.5, high: float = 10**-1.5) -> tuple[float, ...]:
    """``trials`` log-spaced learning rates in [low, high]; one trial is the geometric middle."""
    if trials == 1:
        return (float(math.sqrt(low * high)),)
    return tuple(float(v) for v in np.geomspace(low, high, trials))


@dataclass(frozen=True)
class Task:
    """A data set and a network with a slot for the pooling layer."""

    name: str
    d: int
    load: Callable[[], Dataset]
    # build_model(pool): the network, with ``pool(channels, spatial)`` the pooling layer for
    # ``channels`` maps of spatial shape ``spatial``
    build_model: Callable[[Callable[[int, tuple[int, ...]], nn.Module]], nn.Module]
    description: str = ""
    original: dict[str, dict] = field(default_factory=dict)


def _subset(split: Split, n: int | None, seed: int) -> Split:
    if n is None or n >= len(split):
        return split
    return split.take(np.random.default_rng(seed).permutation(len(split))[:n])


def _log(task: Task, message: str) -> None:
    print(f"[{task.name}] {message}", flush=True)


def _summary(values: Sequence[float]) -> tuple[float, float | None]:
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return mean, std


def _steps(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def study_pooler(
    task: Task, protocol: Protocol, name: str, data: Dataset, budget_left: float | None = None
) -> dict:
    """Run the protocol for one pooler; a JSON-ready record.

    First a timing probe (two passes over 3 batches, the second timed) projects the
    time of the whole protocol for this pooler; with ``budget_left`` seconds given,
    a pooler projected to need more is skipped (status ``skipped``, not run).
    """
    resolved = resolve(name, task.d, impl_module=protocol.impl_module)
    record = {
        "status": "unavailable",
        "impl_class": resolved.entry.impl_class,
        "note": resolved.entry.note,
        "seconds": 0.0,
    }
    if not resolved.available:
        record["reason"] = resolved.reason
        _log(task, f"{name}: {resolved.reason}; not run")
        return record

    layers: list[nn.Module] = []

    def make(channels: int, spatial: tuple[int, ...]) -> nn.Module:
        layer = resolved.make(channels, spatial)
        layers.append(layer)
        return layer

    def fresh_model(seed: int) -> nn.Module:
        layers.clear()
        seed_everything(seed)
        return task.build_model(make)

    losses: list[float] = []  # the mean training loss of the last epoch of the last model

    def last_loss(epoch: int, loss: float, seconds: float) -> None:
        losses[:] = [loss]

    start = time.perf_counter()
    try:
        probe = fresh_model(protocol.tune_seed)
        probe(data.train.x[:2])
        record["layers"] = [repr(layer) for layer in layers]

        fit, val = train_validation_split(data.train, protocol.val_fraction, protocol.split_seed)
        sample = fit.take(torch.arange(min(len(fit), 3 * protocol.batch_size)))
        passes: list[float] = []
        train(
            fresh_model(protocol.tune_seed),
            sample,
            lr=1e-3,
            epochs=2,
            batch_size=protocol.batch_size,
            seed=protocol.tune_seed,
            on_epoch=lambda _epoch, _loss, s: passes.append(s),
        )
        per_step = passes[-1] / _steps(len(sample), protocol.batch_size)
        steps = protocol.epochs * (
            len(protocol.lr_grid) * _steps(len(fit), protocol.batch_size)
            + len(protocol.seeds) * _steps(len(data.train), protocol.batch_size)
        )
        record["projected_seconds"] = per_step * steps
        _log(
            task,
            f"{name}: {per_step * 1e3:.1f} ms per training step, {steps} steps: "
            f"projected {record['projected_seconds']:.0f} s",
        )
        if budget_left is not None and record["projected_seconds"] > budget_left:
            record["status"] = "skipped"
            record["reason"] = (
                f"time budget: projected {record['projected_seconds']:.0f} s for the protocol, "
                f"{max(budget_left, 0):.0f} s left of the {protocol.budget_s:.0f} s budget"
            )
            _log(task, f"{name}: skipped, {record['reason']}")
            record["seconds"] = time.perf_counter() - start
            return record

        trials = []
        for i, lr in enumerate(protocol.lr_grid, 1):
            t0 = time.perf_counter()
            model = fresh_model(protocol.tune_seed)
            train(
                model,
                fit,
                lr=lr,
                epochs=protocol.epochs,
                batch_size=protocol.batch_size,
                seed=protocol.tune_seed,
                on_epoch=last_loss,
            )
            trials.append(
                {
                    "lr": lr,
                    "val_acc": accuracy(model, val),
                    "train_loss": losses[0],
                    "seconds": time.perf_counter() - t0,
                }
            )
            _log(
                task,
                f"{name}: lr trial {i}/{len(protocol.lr_grid)} lr={lr:.3g} "
                f"val_acc={trials[-1]['val_acc']:.4f} ({trials[-1]['seconds']:.1f} s)",
            )
        best = max(trials, key=lambda t: (t["val_acc"], -t["lr"]))
        record["lr_search"] = trials
        record["best_lr"] = best["lr"]
        record["best_val_acc"] = best["val_acc"]

        runs = []
        for seed in protocol.seeds:
            t0 = time.perf_counter()
            model = fresh_model(seed)
            train(
                model,
                data.train,
                lr=best["lr"],
                epochs=protocol.epochs,
                batch_size=protocol.batch_size,
                seed=seed,
                on_epoch=last_loss,
            )
            runs.append(
                {
                    "seed": seed,
                    "test_acc": accuracy(model, data.test),
                    "train_loss": losses[0],
                    "seconds": time.perf_counter() - t0,
                    "learned": [learned_values(resolved.entry, layer) for layer in layers],
                }
            )
            _log(
                task,
                f"{name}: seed {seed} test_acc={runs[-1]['test_acc']:.4f} "
                f"({runs[-1]['seconds']:.1f} s)",
            )
        record["runs"] = runs
        record["test_acc_mean"], record["test_acc_std"] = _summary([r["test_acc"] for r in runs])
        record["status"] = "ok"
    except Exception as error:  # a broken pooler must not end the whole study
        record["status"] = "failed"
        record["reason"] = f"{type(error).__name__}: {error}"
        traceback.print_exc()
        _log(task, f"{name}: FAILED: {record['reason']}")
    record["seconds"] = time.perf_counter() - start
    return record


def run_study(task: Task, protocol: Protocol, names: Sequence[str]) -> dict:
    """The protocol for every pooler in ``names``; the whole result as a JSON-ready dict."""
    torch.set_num_threads(protocol.threads)
    start = time.perf_counter()
    full = task.load()
    data = Dataset(
        _subset(full.train, protocol.train_subset, protocol.split_seed),
        _subset(full.test, protocol.test_subset, protocol.split_seed),
    )
    _log(
        task,
        f"{len(data.train)} training / {len(data.test)} test samples, "
        f"{len(protocol.lr_grid)} lr trials x {protocol.epochs} epochs, "
        f"seeds {list(protocol.seeds)}, {protocol.threads} threads",
    )

    def left() -> float | None:
        if protocol.budget_s is None:
            return None
        return protocol.budget_s - (time.perf_counter() - start)

    def done(name: str, record: dict) -> None:
        poolers[name] = record
        _log(
            task,
            f"{name}: {record['status']} after {record['seconds']:.1f} s; "
            f"{time.perf_counter() - start:.0f} s elapsed in all",
        )

    poolers: dict[str, dict] = {}
    if protocol.jobs <= 1:
        for i, name in enumerate(names, 1):
            _log(task, f"pooler {i}/{len(names)}: {name}")
            done(name, study_pooler(task, protocol, name, data, left()))
    else:
        _study_in_parallel(task, protocol, names, data, left, done)
    poolers = {name: poolers[name] for name in names}  # the table's order, however run
    return {
        "task": task.name,
        "description": task.description,
        "spatial_rank": task.d,
        "protocol": protocol.as_dict(),
        "n_train": len(data.train),
        "n_test": len(data.test),
        "torch": torch.__version__,
        "poolers": poolers,
        "original": task.original,
        "seconds": time.perf_counter() - start,
    }


def _study_in_parallel(task, protocol, names, data, left, done) -> None:
    """``protocol.jobs`` poolers at a time, each in a forked worker process that sets its
    own thread count (a model's result does not depend on which process trains it: every
    model seeds itself). A pooler's budget check uses the time left when it starts."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("fork")
    queue = list(names)
    with ProcessPoolExecutor(protocol.jobs, mp_context=context) as pool:
        running = {}
        while queue or running:
            while queue and len(running) < protocol.jobs:
                name = queue.pop(0)
                _log(task, f"pooler {len(names) - len(queue)}/{len(names)}: {name} (started)")
                running[pool.submit(_worker, task, protocol, name, data, left())] = name
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                done(running.pop(future), future.result())


def _worker(task, protocol, name, data, budget_left):
    torch.set_num_threads(protocol.threads)
    return study_pooler(task, protocol, name, data, budget_left)
