"""Why smooth max trails in the MNIST-1D study: a short, seeded side experiment.

    python examples/mnist1d/smooth_max_check.py [--epochs 3] [--lr 2.3e-3] [--out FILE.json]

Every variant trains the study's network (examples/mnist1d/run.py) from seed 0 for a few
epochs at one learning rate (2.3e-3, the one smooth max's search picked in the full run)
and reports the per-epoch training loss and the test accuracy:

- ``ndpool beta=1`` is the study's configuration (SmoothMaxPool, beta learnable per
  channel, initialised at 1); ``torch lse beta=1`` is the same pooler written
  independently with ``torch.logsumexp`` over ``unfold`` windows. Equal losses say the
  ndpool layer is not the cause.
- ``lse - log 2, beta=1`` subtracts the constant ``log(K)/beta`` that log-sum-exp adds
  to a window of equal values (K = 2 cells): it is the "mean-exp" form.
- ``ndpool beta=5`` / ``beta=20`` start closer to max pooling (offset ``log 2 / beta``).
- ``max`` and ``avg`` for reference.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # examples/, for the shared pooling_study package
sys.path.insert(0, str(HERE))

from pooling_study.training import accuracy, seed_everything, train  # noqa: E402
from run import build_model, load  # noqa: E402

from ndpool import impl  # noqa: E402


class TorchLogSumExp(nn.Module):
    """``(1/beta) log sum exp(beta x)`` over kernel-2 stride-2 windows, beta = exp(log_beta)
    learnable per channel; ``shift`` subtracts ``log(2)/beta`` (the mean-exp form)."""

    def __init__(self, channels: int, beta: float = 1.0, shift: bool = False):
        super().__init__()
        self.log_beta = nn.Parameter(torch.full((channels,), math.log(beta)))
        self.shift = shift

    def forward(self, x):
        beta = self.log_beta.exp()[:, None]
        lse = torch.logsumexp(beta[..., None] * x.unfold(-1, 2, 2), -1)
        return (lse - math.log(2.0) if self.shift else lse) / beta


def smooth(beta: float):
    return lambda c: impl.SmoothMaxPool(kernel_size=2, beta=beta, learnable=True, num_channels=c)


VARIANTS = {
    "ndpool beta=1 (the study's)": smooth(1.0),
    "torch lse beta=1 (independent)": lambda c: TorchLogSumExp(c),
    "lse - log 2, beta=1 (mean-exp)": lambda c: TorchLogSumExp(c, shift=True),
    "ndpool beta=5": smooth(5.0),
    "ndpool beta=20": smooth(20.0),
    "max": lambda c: impl.MaxPool(kernel_size=2),
    "avg": lambda c: impl.AvgPool(kernel_size=2),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=2.3e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "smooth_max_check.json")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.lr <= 0:
        parser.error("--epochs must be >= 1 and --lr > 0")
    torch.set_num_threads(args.threads)
    data = load()
    rows = {}
    for name, make in VARIANTS.items():
        seed_everything(0)
        model = build_model(make)
        losses: list[float] = []
        train(
            model,
            data.train,
            lr=args.lr,
            epochs=args.epochs,
            batch_size=64,
            seed=0,
            on_epoch=lambda _e, loss, _s, losses=losses: losses.append(loss),
        )
        rows[name] = {"train_loss": losses, "test_acc": accuracy(model, data.test)}
        loss_text = ", ".join(f"{v:.3f}" for v in losses)
        print(f"{name:32s} loss per epoch [{loss_text}]  test {rows[name]['test_acc']:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"epochs": args.epochs, "lr": args.lr, "runs": rows}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
