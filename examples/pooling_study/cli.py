"""The command line of both examples: full protocol, ``--quick``, ``--list``, ``--time-epoch``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from . import report
from .poolers import POOLERS, resolve
from .protocol import Protocol, Task, lr_grid, run_study
from .training import seed_everything, train

QUICK_POOLERS = ("max", "avg")
QUICK = {"epochs": 1, "lr_trials": 1, "seeds": 1, "train_subset": 2000, "test_subset": 500}


def parser(task: Task, default_out: Path) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=f"Pooling study on {task.name}: {task.description}")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK['train_subset']} training samples, 1 epoch, 1 seed, "
        f"1 lr trial, poolers {','.join(QUICK_POOLERS)}; writes to results/quick unless --out",
    )
    p.add_argument(
        "--poolers",
        default=None,
        help=f"comma-separated names, or 'all' (default): {','.join(POOLERS)}",
    )
    p.add_argument("--epochs", type=int, default=None, help="epochs per model (default 10)")
    p.add_argument("--lr-trials", type=int, default=None, help="learning rates tried (default 8)")
    p.add_argument("--seeds", type=int, default=None, help="evaluation seeds (default 3)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="poolers studied at once, each in its own process with --threads threads "
        "(default 1; on a 2-core machine use --jobs 2 --threads 1)",
    )
    p.add_argument("--out", type=Path, default=None, help=f"results folder (default {default_out})")
    p.add_argument(
        "--impl",
        default="ndpool.impl",
        help="module the pooler table takes its classes from (default ndpool.impl)",
    )
    p.add_argument("--list", action="store_true", help="list the poolers and their availability")
    p.add_argument(
        "--time-epoch",
        action="store_true",
        help="time one training epoch on the full training set per pooler, project the "
        "protocol's total time and exit",
    )
    p.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="time budget in seconds: a pooler whose projected protocol time exceeds what is "
        "left is skipped and reported as such (default: no budget)",
    )
    p.add_argument(
        "--merge",
        action="store_true",
        help="rerun only the --poolers given and merge their rows into the results.json "
        "already in the results folder (every other pooler's row is kept); refused when "
        "that file's protocol differs",
    )
    p.add_argument(
        "--time-batches",
        type=int,
        default=None,
        help="with --time-epoch: time only this many batches and scale up to an epoch",
    )
    return p


def _names(arg: str | None, quick: bool) -> list[str]:
    if arg is None:
        return list(QUICK_POOLERS if quick else POOLERS)
    if arg == "all":
        return list(POOLERS)
    names = [n.strip() for n in arg.split(",") if n.strip()]
    unknown = [n for n in names if n not in POOLERS]
    if unknown:
        raise SystemExit(f"unknown pooler(s) {unknown}; known: {', '.join(POOLERS)}")
    return names


def epochs_per_pooler(protocol: Protocol) -> float:
    """Training cost of one pooler under ``protocol``, in epochs over the whole training set.

    The learning-rate trials train on the training data less the validation split;
    the seeds on all of it. Evaluation passes are not counted (about 1 %).
    """
    trials = len(protocol.lr_grid) * protocol.epochs * (1.0 - protocol.val_fraction)
    return trials + len(protocol.seeds) * protocol.epochs


def _time_epochs(
    task: Task, names: Sequence[str], protocol: Protocol, batches: int | None = None
) -> None:
    """Time one epoch (the second of two) per pooler and project the protocol's total time.

    With ``batches``, the epochs run over the first ``batches`` batches only and the
    time is scaled up to the whole training set.
    """
    torch.set_num_threads(protocol.threads)
    data = task.load()
    timed = data.train
    if batches is not None:
        timed = data.train.take(torch.arange(min(len(data.train), batches * protocol.batch_size)))
    scale = len(data.train) / len(timed)
    per_pooler = epochs_per_pooler(protocol)
    total = 0.0
    for name in names:
        resolved = resolve(name, task.d, impl_module=protocol.impl_module)
        if not resolved.available:
            print(f"{name}: {resolved.reason}", flush=True)
            continue
        seed_everything(0)
        model = task.build_model(resolved.make)
        seconds = []
        train(
            model,
            timed,
            lr=1e-3,
            epochs=2,
            batch_size=protocol.batch_size,
            seed=0,
            on_epoch=lambda _epoch, _loss, s, seconds=seconds: seconds.append(s),
        )
        epoch = seconds[-1] * scale
        total += epoch * per_pooler
        print(
            f"{name}: {epoch:.2f} s per epoch of {len(data.train)} samples "
            f"(timed on {len(timed)}; first epoch {seconds[0] * scale:.2f} s) -> "
            f"{per_pooler:.0f} epochs = {epoch * per_pooler:.0f} s for this pooler",
            flush=True,
        )
    print(
        f"projected protocol time for the available poolers: {total:.0f} s "
        f"({len(protocol.lr_grid)} lr trials x {protocol.epochs} epochs on "
        f"{1 - protocol.val_fraction:.0%} of the training data + {len(protocol.seeds)} seeds x "
        f"{protocol.epochs} epochs, {protocol.threads} threads)",
        flush=True,
    )


def main(task: Task, default_out: Path, argv: Sequence[str] | None = None) -> int:
    args = parser(task, default_out).parse_args(argv)
    names = _names(args.poolers, args.quick)
    if args.jobs < 1:
        raise SystemExit(f"--jobs must be at least 1, got {args.jobs}")
    protocol = Protocol(
        threads=args.threads, impl_module=args.impl, budget_s=args.budget_s, jobs=args.jobs
    )
    if args.list:
        for name in POOLERS:
            resolved = resolve(name, task.d, impl_module=protocol.impl_module)
            state = "available" if resolved.available else resolved.reason
            cls = f"{protocol.impl_module}.{resolved.entry.impl_class}"
            print(f"{name:12s} {cls:30s} {state}")
        return 0

    if args.quick:
        protocol = replace(
            protocol,
            epochs=QUICK["epochs"],
            lr_grid=lr_grid(QUICK["lr_trials"]),
            seeds=tuple(range(QUICK["seeds"])),
            train_subset=QUICK["train_subset"],
            test_subset=QUICK["test_subset"],
        )
    if args.epochs is not None:
        protocol = replace(protocol, epochs=args.epochs)
    if args.lr_trials is not None:
        protocol = replace(protocol, lr_grid=lr_grid(args.lr_trials))
    if args.seeds is not None:
        protocol = replace(protocol, seeds=tuple(range(args.seeds)))

    if args.time_epoch:
        _time_epochs(task, names, protocol, args.time_batches)
        return 0

    out = args.out or (default_out / "quick" if args.quick else default_out)
    recorded = None
    if args.merge:
        if args.poolers is None:
            raise SystemExit("--merge reruns the poolers named by --poolers; name them")
        recorded = report.load(out)  # checked before any training
    start = time.perf_counter()
    result = run_study(task, protocol, names)
    result["mode"] = "quick" if args.quick else "full"
    if recorded is not None:
        result = report.merge(recorded, result, argv=sys.argv[1:] if argv is None else argv)
    paths = report.write(result, out)
    print(report.markdown(result))
    print(
        f"[{task.name}] wrote {', '.join(str(p) for p in paths)} "
        f"in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    failed = [n for n, r in result["poolers"].items() if r["status"] == "failed"]
    return 1 if failed else 0
