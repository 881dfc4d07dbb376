"""Why smooth max with beta0 = 1 fails in the studies: the offset against the ReLU outputs.

    python examples/pooling_study/smooth_max_offset.py --task digits2d [--epochs 10]
    python examples/pooling_study/smooth_max_offset.py --task mnist1d [--epochs 10]

Log-sum-exp pooling of a window of K cells is at least the window's max and at most the
max plus ``log(K)/beta``; for a window of K equal values it is exactly that value plus
``log(K)/beta``. This script measures, on the study's network and data (the task's
``run.py``):

1. **at initialisation** (seeds 0, 1, 2; the whole training set): the layer-1 ReLU
   outputs and the same after the study's max pooling, next to the offset
   ``log(K)/beta0`` for beta0 = 1 and 10, and what each pooler hands to the second
   convolution: its pre-activations' mean and the share of them above 0;
2. **in training** (seed 0, the study's old set-up beta0 = 1 against beta0 = 10, the
   learning rate the old search picked): per epoch the training loss, the share of
   layer-2 ReLU outputs above 0 over the training set, the number of layer-2 channels
   with any positive output, and the mean of the second convolution's pre-activations
   and bias (epoch 0: at initialisation).

An offset that only added a constant to every input of the second convolution would be
absorbed by its bias (the shift is ``offset * sum(w)`` per output channel, a bias move
undoes it); the numbers show what happens instead. Output: ``--out`` (default
``examples/<task>/results/smooth_max_offset.json``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from pathlib import Path

import torch
from torch import nn

EXAMPLES = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EXAMPLES))

from ndpool import impl  # noqa: E402
from pooling_study.training import accuracy, seed_everything, train  # noqa: E402

# The learning rate the old search (beta0 = 1) picked in each study's run of 2026-11-23.
OLD_LR = {"digits2d": 0.004393970560760791, "mnist1d": 0.0022758459260747888}


def load_task(name: str):
    """The ``TASK`` of ``examples/<name>/run.py``."""
    spec = importlib.util.spec_from_file_location(f"{name}_run", EXAMPLES / name / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TASK


def poolers(task) -> dict:
    window = {"kernel_size": (2,) * task.d, "stride": (2,) * task.d}

    def smooth(beta):
        return lambda c, _s: impl.SmoothMaxPool(**window, beta=beta, learnable=True, num_channels=c)

    return {
        "max": lambda _c, _s: impl.MaxPool(**window),
        "smooth_max beta0=1": smooth(1.0),
        "smooth_max beta0=10": smooth(10.0),
    }


def _stats(values: torch.Tensor) -> dict:
    v = values.reshape(-1).double()
    return {
        "mean": float(v.mean()),
        "median": float(v.median()),
        "share_positive": float((v > 0).double().mean()),
    }


@torch.no_grad()
def activations(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The study network's intermediate tensors (Sequential: conv, ReLU, pool, conv, ReLU,
    pool, ...), named by what they are."""
    names = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
    out, h = {}, x
    model.eval()
    for name, layer in zip(names, model):
        h = layer(h)
        out[name] = h
    return out


def at_initialisation(task, data, seeds) -> dict:
    k = 2**task.d
    rows = {}
    for name, make in poolers(task).items():
        per_seed = []
        for seed in seeds:
            seed_everything(seed)
            acts = activations(task.build_model(make), data.train.x)
            per_seed.append(
                {
                    "seed": seed,
                    "relu1": _stats(acts["relu1"]),
                    "pool1": _stats(acts["pool1"]),
                    "conv2": _stats(acts["conv2"]),
                    "relu2": _stats(acts["relu2"]),
                }
            )
        rows[name] = per_seed
    return {"window_cells": k, "offset": {b: math.log(k) / b for b in (1.0, 10.0)}, "rows": rows}


def in_training(task, data, lr: float, epochs: int, seed: int = 0) -> dict:
    rows = {}
    for name, make in poolers(task).items():
        if name == "max":
            continue
        seed_everything(seed)
        model = task.build_model(make)
        epochs_out = []

        def record(epoch, loss, _seconds, model=model, epochs_out=epochs_out, name=name):
            acts = activations(model, data.train.x)
            relu2 = acts["relu2"]
            alive_channels = int((relu2.transpose(0, 1).reshape(relu2.shape[1], -1) > 0)
                                 .any(dim=1).sum())  # fmt: skip
            epochs_out.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": loss,
                    "relu2_share_positive": float((relu2 > 0).double().mean()),
                    "relu2_alive_channels": alive_channels,
                    "conv2_mean": float(acts["conv2"].double().mean()),
                    "conv2_bias_mean": float(model[3].bias.detach().double().mean()),
                }
            )
            e = epochs_out[-1]
            print(
                f"{name:20s} epoch {e['epoch']:2d} loss {loss or math.nan:.4f} layer-2 ReLU > 0: "
                f"{e['relu2_share_positive']:.4f} ({alive_channels}/{relu2.shape[1]} channels) "
                f"conv2 mean {e['conv2_mean']:+.3f} bias mean {e['conv2_bias_mean']:+.3f}",
                flush=True,
            )

        record(-1, None, 0.0)  # epoch 0: the initial state
        train(model, data.train, lr=lr, epochs=epochs, batch_size=64, seed=seed, on_epoch=record)
        rows[name] = {"epochs": epochs_out, "test_acc": accuracy(model, data.test)}
    return {"seed": seed, "lr": lr, "epochs": epochs, "ln10": math.log(10.0), "rows": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=sorted(OLD_LR), default="digits2d")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=None, help="default: the old search's pick")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    task = load_task(args.task)
    data = task.load()
    init = at_initialisation(task, data, (0, 1, 2))
    for name, per_seed in init["rows"].items():
        for s in per_seed:
            print(
                f"{name:20s} seed {s['seed']}: relu1 mean {s['relu1']['mean']:.4f}, pool1 mean "
                f"{s['pool1']['mean']:.4f}, conv2 mean {s['conv2']['mean']:+.4f} "
                f"(> 0: {s['conv2']['share_positive']:.3f})"
            )
    print(f"offset log(K)/beta0 for K = {init['window_cells']}: {init['offset']}")
    lr = OLD_LR[args.task] if args.lr is None else args.lr
    trained = in_training(task, data, lr, args.epochs)
    out = args.out or EXAMPLES / args.task / "results" / "smooth_max_offset.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"task": args.task, "initialisation": init, "training": trained}, indent=1)
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
