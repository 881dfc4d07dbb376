"""The 2-D companion: the same pooling comparison on scikit-learn's bundled 8×8 digits.

python examples/digits2d/run.py            # the full protocol, results in examples/digits2d/results
python examples/digits2d/run.py --quick    # smoke run
python examples/digits2d/run.py --list     # which poolers ndpool.impl has now
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # examples/, for the shared pooling_study package

from pooling_study.cli import main  # noqa: E402
from pooling_study.protocol import Task  # noqa: E402
from pooling_study.training import Dataset, Split  # noqa: E402

TEST_FRACTION = 0.2
SPLIT_SEED = 0


def load() -> Dataset:
    """``sklearn.datasets.load_digits`` (1797 images, 8×8, values 0..16 scaled to [0, 1]).

    A stratified, seeded 80/20 train/test split (``train_test_split``, random_state 0).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target)
    train_idx, test_idx = train_test_split(
        range(len(y)), test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=digits.target
    )
    split = Split(x, y)
    return Dataset(split.take(train_idx), split.take(test_idx))


def build_model(pool) -> nn.Module:
    """Conv2d(1→16,k3,p1) → ReLU → pool(2) → Conv2d(16→32,k3,p1) → ReLU → pool(2) → Linear → 10."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        pool(16, (8, 8)),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        pool(32, (4, 4)),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )


TASK = Task(
    name="digits2d",
    d=2,
    load=load,
    build_model=build_model,
    description="scikit-learn's 8×8 digits (1797 images, stratified 80/20 train/test split), "
    "a two-layer 2-D CNN with a 2×2 stride-2 ndpool.impl pooling layer after each convolution.",
)

if __name__ == "__main__":
    raise SystemExit(main(TASK, HERE / "results"))
