"""Training and evaluation: Adam, fixed batch size, a fixed number of epochs, seeded.

Everything random (initial weights, the batch order, the noise of stochastic
poolers) comes from torch's global generator seeded by ``seed_everything``, and
the batch order from its own ``torch.Generator``, so a run is a function of its
seed on a given machine and thread count.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (float32, ``[N, 1, *S]``) and integer labels ``y``."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def take(self, index: torch.Tensor | np.ndarray) -> Split:
        index = torch.as_tensor(index)
        return Split(self.x[index], self.y[index])


@dataclass(frozen=True)
class Dataset:
    train: Split
    test: Split


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (code using the legacy global generator)
    random.seed(seed)


def train_validation_split(train: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Carve a validation split of ``fraction`` from the training data (a seeded permutation)."""
    order = np.random.default_rng(seed).permutation(len(train))
    n_val = max(1, round(fraction * len(train)))
    return train.take(order[n_val:]), train.take(order[:n_val])


def train(
    model: nn.Module,
    data: Split,
    *,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> nn.Module:
    """Adam on the cross-entropy; ``on_epoch(epoch, mean_loss, seconds)`` after every epoch."""
    order = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        total, count = 0.0, 0
        for batch in torch.randperm(len(data), generator=order).split(batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(data.x[batch]), data.y[batch])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
            count += len(batch)
        if on_epoch is not None:
            on_epoch(epoch, total / max(count, 1), time.perf_counter() - start)
    return model


@torch.no_grad()
def accuracy(model: nn.Module, data: Split, *, batch_size: int = 1000) -> float:
    """Fraction of correctly classified samples, the model in evaluation mode."""
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        logits = model(data.x[start : start + batch_size])
        correct += int((logits.argmax(dim=1) == data.y[start : start + batch_size]).sum())
    return correct / len(data)
