"""The pooler table: one small entry per pooler, resolved against ``ndpool.impl`` at run time.

Every entry names the ``ndpool.impl`` class it needs and a builder
``build(cls, channels, d, spatial) -> nn.Module`` for a kernel-2, stride-2 pooling layer
of spatial rank ``d`` in front of which sit ``channels`` feature maps of spatial shape
``spatial`` (the input of the layer). ``resolve``
looks the class up when the study runs: an entry whose class does not exist (yet)
is *unavailable* and reported as such, never replaced by a torch layer, so every
number in the results comes from an ``ndpool.impl`` module.

Adding a pooler is adding one ``@pooler(...)`` function here. The order of the
table is the default run order: the five poolers of the original report first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

Builder = Callable[[type, int, int, tuple[int, ...]], nn.Module]
Reader = Callable[[nn.Module], torch.Tensor]  # a learned quantity of a built layer


@dataclass(frozen=True)
class PoolerEntry:
    """One row of the table: how to build the pooler and what it learns."""

    name: str
    impl_class: str
    build: Builder
    learned: dict[str, Reader] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Resolved:
    """A table entry looked up in ``ndpool.impl``: a factory, or why there is none."""

    entry: PoolerEntry
    make: Callable[[int, tuple[int, ...]], nn.Module] | None
    reason: str = ""

    @property
    def available(self) -> bool:
        return self.make is not None


POOLERS: dict[str, PoolerEntry] = {}


def pooler(name: str, impl_class: str, *, learned: dict[str, Reader] | None = None, note: str = ""):
    """Register ``build`` as the table entry ``name`` needing ``ndpool.impl.<impl_class>``."""

    def register(build: Builder) -> Builder:
        POOLERS[name] = PoolerEntry(name, impl_class, build, learned or {}, note)
        return build

    return register


def _window(d: int) -> dict:
    return {"kernel_size": (2,) * d, "stride": (2,) * d}


# The entries. The constructor arguments follow ndpool.impl (impl/modules.py,
# impl/pooler_modules.py); a signature change there shows up as a "failed" pooler
# with the TypeError in the results, not as a silently different layer.


@pooler("max", "MaxPool")
def _max(cls, channels, d, spatial):
    return cls(**_window(d))


@pooler("avg", "AvgPool")
def _avg(cls, channels, d, spatial):
    return cls(**_window(d))


@pooler(
    "lp",
    "LpPool",
    learned={"p": lambda m: m.value()},
    note="the source's LpPool: (mean |x|^p)^(1/p), one learnable p per layer, initialised at 2",
)
def _lp(cls, channels, d, spatial):
    return cls(2.0, **_window(d), learnable=True, reduction="mean")


@pooler(
    "quantile",
    "QuantilePool",
    learned={"q": lambda m: m.constrained("q"), "alpha": lambda m: m.constrained("alpha")},
    note="implicit quantile; q (initialised at 1/2) and alpha (at 10, the source's) learnable "
    "per channel",
)
def _quantile(cls, channels, d, spatial):
    return cls(**_window(d), q=0.5, alpha=10.0, learnable=True, num_channels=channels)


@pooler("median", "MedianPool", note="lower-middle median: with a 2-cell window this is min")
def _median(cls, channels, d, spatial):
    return cls(**_window(d))


@pooler(
    "smooth_max",
    "SmoothMaxPool",
    learned={"beta": lambda m: m.value()},
    note="log-sum-exp; beta learnable per channel, initialised at 10 (a window of K equal "
    "values pools to the value + log(K)/beta)",
)
def _smooth_max(cls, channels, d, spatial):
    return cls(**_window(d), beta=10.0, learnable=True, num_channels=channels)


@pooler(
    "mixed",
    "MixedPool",
    learned={"max_weight": lambda m: torch.sigmoid(m.constrained("a"))},
    note="sigma(a) max + (1 - sigma(a)) avg, a per channel, initialised at 0",
)
def _mixed(cls, channels, d, spatial):
    return cls(**_window(d), a=0.0, num_channels=channels)


@pooler(
    "gated",
    "GatedPool",
    learned={"omega": lambda m: m.omega, "bias": lambda m: m.bias},
    note="g max + (1 - g) avg, g = sigma(omega . x + b): the source's grouped convolution "
    "with bias, a gate mask and a bias per channel, both from U(-1/sqrt(K), 1/sqrt(K))",
)
def _gated(cls, channels, d, spatial):
    return cls(**_window(d), num_channels=channels, bias=True, init="uniform")


@pooler("tree", "TreePool", note="2-level tree pooling, leaf filters and gate mask per channel")
def _tree(cls, channels, d, spatial):
    return cls(**_window(d), num_channels=channels)


@pooler(
    "stochastic",
    "StochasticPool",
    note="training: a cell drawn with probability x_i / sum x; eval: sum x_i^2 / sum x_i",
)
def _stochastic(cls, channels, d, spatial):
    return cls(**_window(d))


@pooler(
    "s3",
    "S3Pool",
    note="stride-1 max, then one random row of every grid of 2 (training); eval: the "
    "training output's expectation (the average of each aligned grid)",
)
def _s3(cls, channels, d, spatial):
    return cls(**_window(d))


@pooler(
    "gumbel",
    "GumbelPool",
    learned={"temperature": lambda m: m.constrained("temperature")},
    note="training: Gumbel-max sample, hard straight-through gradient; eval: "
    "softmax(x/T)-weighted sum; the source's T = relu(raw) + 0.1, one per channel and output "
    "position, raw initialised at 1 x U(0.5, 1.5)",
)
def _gumbel(cls, channels, d, spatial):
    positions = tuple(n // 2 for n in spatial)
    return cls(**_window(d), temperature=1.1, num_channels=channels, positions=positions,
               parametrization="rectified", init="uniform")  # fmt: skip


@pooler("soft", "SoftPool", note="softmax-weighted sum (SoftPool)")
def _soft(cls, channels, d, spatial):
    return cls(**_window(d))


@pooler(
    "gem",
    "GeMPool",
    learned={"p": lambda m: m.constrained("p")},
    note="generalized mean (mean x^p)^(1/p), p learnable per channel, initialised at 3",
)
def _gem(cls, channels, d, spatial):
    return cls(**_window(d), p=3.0, learnable=True, num_channels=channels)


def resolve(name: str, d: int, *, impl_module: str = "ndpool.impl") -> Resolved:
    """Look ``name`` up in the table and its class in ``impl_module``.

    Unknown names raise ``KeyError``; a missing class gives an unavailable entry.
    """
    entry = POOLERS[name]
    impl = importlib.import_module(impl_module)
    cls = getattr(impl, entry.impl_class, None)
    if cls is None:
        return Resolved(entry, None, f"unavailable: {impl_module} has no {entry.impl_class}")

    def make(channels: int, spatial: tuple[int, ...]) -> nn.Module:
        return entry.build(cls, channels, d, tuple(spatial))

    return Resolved(entry, make)


def learned_values(entry: PoolerEntry, module: nn.Module) -> dict[str, list[float]]:
    """The learned quantities ``entry.learned`` of one built layer, flattened to lists."""
    return {
        label: [float(v) for v in read(module).detach().reshape(-1).tolist()]
        for label, read in entry.learned.items()
    }
