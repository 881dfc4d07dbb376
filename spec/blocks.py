"""Evaluation in blocks: the memory budget of the spec's driver.

Gathering every window of a call at once takes ``N * C * prod(O) * K`` cells; on a real
activation that is gigabytes. The driver (:class:`ndpool.spec.op.Op`) therefore gathers
and reduces the windows of one *block* of outputs at a time: a run of batch entries,
or, where one entry's windows exceed the budget, a box of output positions of one
entry (a range on one output axis, single positions on the axes before it, every
position on the axes after it). All channels of a position are in the same block.
Peak memory is then the input, the output (and the input's cotangent, for a VJP) plus
one block's windows.

Blocks are visited in row-major output order, so the result is bit for bit the
unblocked one: every output position is reduced from the same window, the VJP adds each
input cell's contributions in the same order (see
:meth:`ndpool.spec.geometry.Geometry.scatter`), and each parameter's cotangent is an
accumulator of the parameter's shape that every block adds its terms to one at a time,
batch entry, then output position, then channel (:func:`ndpool.spec.op.add_in_order`),
so that a window-shaped parameter never holds ``[N, C, *O, K]`` terms.

The budget is :data:`DEFAULT_MEMORY_BUDGET` (256 MiB) unless a
:func:`memory_budget` block says otherwise; a budget of ``None`` evaluates every call
in one block.

>>> import numpy as np
>>> from ndpool import spec
>>> x = np.arange(48.0).reshape(1, 3, 16)
>>> with spec.memory_budget(1):                  # one output position per block
...     y = spec.max_pool(x, kernel_size=3)
>>> np.array_equal(y, spec.max_pool(x, kernel_size=3))
True
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
import numbers
from collections.abc import Iterator

#: The spec's memory budget when none is set: 256 MiB for one block's windows.
DEFAULT_MEMORY_BUDGET = 256 * 2**20

#: Bytes one gathered window cell may take while a reducer works on a block: the cell
#: itself (float64), its mask and index, the derivative's cells and a reducer's few
#: window-sized temporaries.
CELL_BYTES = 64

_BUDGET: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "ndpool_spec_memory_budget", default=DEFAULT_MEMORY_BUDGET
)


@contextlib.contextmanager
def memory_budget(nbytes: int | None) -> Iterator[None]:
    """Evaluate the spec's ops inside the ``with`` block under a budget of ``nbytes``
    bytes for one block's gathered windows (``None``: no blocking). The setting is a
    context variable: it holds for this thread or task and is restored on exit.

    >>> from ndpool import spec
    >>> with spec.memory_budget(2**20):
    ...     spec.current_memory_budget()
    1048576
    >>> spec.current_memory_budget() == spec.DEFAULT_MEMORY_BUDGET
    True
    """
    if nbytes is not None and (
        isinstance(nbytes, bool) or not isinstance(nbytes, numbers.Integral) or nbytes < 1
    ):
        raise ValueError(f"memory_budget({nbytes!r}): a budget is a positive int of bytes or None")
    token = _BUDGET.set(None if nbytes is None else int(nbytes))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def current_memory_budget() -> int | None:
    """The budget in bytes the spec's ops evaluate under here (``None``: unblocked)."""
    return _BUDGET.get()


def blocks(
    batch: int, spatial_out: tuple[int, ...], cells_per_position: int
) -> list[tuple[slice, tuple[slice, ...]]]:
    """The blocks of one call, in row-major output order: ``(batch slice, one slice per
    output axis)``. ``cells_per_position`` is ``C * K``, the window cells of one output
    position of one batch entry. One block (every slice whole) when the call fits the
    budget.

    >>> from ndpool.spec.blocks import memory_budget
    >>> with memory_budget(6 * CELL_BYTES):             # 6 cells: 3 positions of 2
    ...     [(b.start, [(s.start, s.stop) for s in o]) for b, o in blocks(1, (2, 4), 2)]
    [(0, [(0, 1), (0, 3)]), (0, [(0, 1), (3, 4)]), (0, [(1, 2), (0, 3)]), (0, [(1, 2), (3, 4)])]
    """
    whole = (slice(0, batch), tuple(slice(0, n) for n in spatial_out))
    budget = current_memory_budget()
    positions = math.prod(spatial_out)
    per_entry = positions * max(cells_per_position, 1)
    if budget is None or batch * per_entry == 0:
        return [whole]
    limit = max(budget // CELL_BYTES, 1)  # cells per block
    if batch * per_entry <= limit:
        return [whole]
    if per_entry <= limit:  # whole batch entries
        step = limit // per_entry
        return [(slice(i, min(i + step, batch)), whole[1]) for i in range(0, batch, step)]
    # one entry at a time, a box of positions: the first axis whose trailing positions fit
    d = len(spatial_out)
    cut, tail = d - 1, max(cells_per_position, 1)
    for a in range(d):
        inner = math.prod(spatial_out[a + 1 :]) * max(cells_per_position, 1)
        if inner <= limit:
            cut, tail = a, inner
            break
    rows = max(limit // tail, 1)
    lead = [range(n) for n in spatial_out[:cut]]
    boxes = []
    for head in itertools.product(*lead):
        for start in range(0, spatial_out[cut], rows):
            box = tuple(slice(i, i + 1) for i in head)
            box += (slice(start, min(start + rows, spatial_out[cut])),)
            boxes.append(box + tuple(slice(0, n) for n in spatial_out[cut + 1 :]))
    return [(slice(i, i + 1), box) for i in range(batch) for box in boxes]
