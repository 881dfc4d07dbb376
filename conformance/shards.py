"""Shards: a deterministic 1/N of the op x property matrix, balanced by measured cost.

``ndpool check --shard I/N`` runs shard ``I`` of ``N``; the N shards of one selection
partition its cells exactly (every cell in one shard), so N CI jobs together run the
whole check, and ``ndpool report merge`` puts their reports back together.

The cells are dealt out by *longest processing time first*: sorted by their estimated
cost (largest first, ties in the matrix's own order), each goes to the shard with the
least cost so far (ties to the lowest index). The cost of a cell is its measured time in
the cost table, scaled to the run's profile; a cell the table lacks costs the table's
median; a cell the target cannot run costs nothing. The seed plays no part, so every
shard of a run computes the same partition, whatever it draws.

The table is the target's own (``costs/<target>.json`` in :data:`COSTS_DIR`, from a full run of
that target: what is dear differs between targets, e.g. every new shape compiles under
JAX), or, for a target without one, ``ndpool.impl``'s (:data:`COSTS_FILE`). Make or
refresh a table from the JSON report(s) of one full run::

    ndpool check --target T --profile thorough --seed 0 -n 2 --report T.json
    python -m ndpool.conformance.tools.cost_table T.json   # writes costs/T.json
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .runner import PROFILES

#: the cost tables shipped with the package, one per measured target (the module doc)
COSTS_DIR = Path(__file__).with_name("costs")
#: the table of a target that has none of its own
COSTS_FILE = COSTS_DIR / "ndpool.impl.json"

Cell = tuple[str, str]


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"I/N"`` with 1 <= I <= N, or :class:`ValueError` saying what is wrong.

        >>> Shard.parse("2/4")
        Shard(index=2, count=4)
        """
        index, sep, count = text.partition("/")
        try:
            i, n = int(index), int(count)
        except ValueError:
            i = n = 0
            sep = ""
        if not sep:
            raise ValueError(f"{text!r} is not I/N (shard I of N, e.g. 2/4)")
        if n < 1 or not 1 <= i <= n:
            raise ValueError(f"{text!r}: the shard I of N needs 1 <= I <= N")
        return cls(i, n)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class CostTable:
    """Measured seconds and examples per op x property cell, at ``profile``."""

    profile: str
    seconds: dict[Cell, float] = field(default_factory=dict)
    examples: dict[Cell, int] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path = COSTS_FILE) -> CostTable:
        data = json.loads(Path(path).read_text())
        seconds, examples = {}, {}
        for op, row in data["cells"].items():
            for prop, cell in row.items():
                seconds[(op, prop)] = float(cell["seconds"])
                examples[(op, prop)] = int(cell["examples"])
        meta = {k: v for k, v in data.items() if k != "cells"}
        return cls(data["profile"], seconds, examples, meta)

    def to_json(self) -> dict:
        cells: dict[str, dict] = {}
        for (op, prop), secs in self.seconds.items():
            n = self.examples.get((op, prop), 0)
            cells.setdefault(op, {})[prop] = {"examples": n, "seconds": round(secs, 4)}
        return {**self.meta, "profile": self.profile, "cells": cells}

    def default(self) -> float:
        """The cost of a cell the table lacks: the median measured cell."""
        return statistics.median(self.seconds.values()) if self.seconds else 1.0

    def estimate(self, op: str, prop: str, profile: str) -> float:
        """Estimated seconds of the cell at ``profile``: its measured seconds scaled by the
        profile's examples per cell over the measured profile's."""
        secs = self.seconds.get((op, prop))
        secs = self.default() if secs is None else secs
        return secs * PROFILES[profile] / PROFILES[self.profile]


def assign(cells: Sequence[Cell], count: int, cost: Callable[[Cell], float]) -> list[list[Cell]]:
    """Deal ``cells`` out to ``count`` shards, longest processing time first; each shard's
    cells in their order in ``cells``.

    >>> assign([("a", "p"), ("b", "p"), ("c", "p")], 2, {("a", "p"): 3, ("b", "p"): 2,
    ...                                                  ("c", "p"): 2}.get)
    [[('a', 'p')], [('b', 'p'), ('c', 'p')]]
    """
    if count < 1:
        raise ValueError(f"the number of shards must be at least 1, not {count}")
    order = {cell: i for i, cell in enumerate(cells)}
    if len(order) != len(cells):
        raise ValueError("a cell is listed twice")
    loads = [0.0] * count
    members: list[list[Cell]] = [[] for _ in range(count)]
    for cell in sorted(cells, key=lambda c: (-cost(c), order[c])):
        i = min(range(count), key=lambda k: (loads[k], k))
        loads[i] += cost(cell)
        members[i].append(cell)
    return [sorted(m, key=order.__getitem__) for m in members]


def shard_cells(cells: Sequence[Cell], shard: Shard, cost: Callable[[Cell], float]) -> list[Cell]:
    """The cells of ``shard`` (see :func:`assign`)."""
    return assign(cells, shard.count, cost)[shard.index - 1]


def table_path(target: str) -> Path:
    """The cost table a run of ``target`` shards by: its own where the package has one,
    else :data:`COSTS_FILE`."""
    own = COSTS_DIR / f"{target}.json"
    if re.fullmatch(r"[\w.@+-]+", target) and own.is_file():
        return own
    return COSTS_FILE


def cost_function(
    table: CostTable, profile: str, blocked: Sequence[Cell] | set[Cell] = ()
) -> Callable[[Cell], float]:
    """A cell's estimated cost at ``profile``: 0 where the target cannot run it (it is
    reported, not run), else at least a microsecond (so that the first N cells dealt
    out land in N different shards)."""
    blocked = set(blocked)

    def cost(cell: Cell) -> float:
        if cell in blocked:
            return 0.0
        return max(table.estimate(*cell, profile), 1e-6)

    return cost
