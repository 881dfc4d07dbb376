"""The spec evaluates in blocks under a memory budget, bit for bit as in one block, and
its shapes come from integer arithmetic, whatever the size of an axis."""

from __future__ import annotations

import itertools
import threading
import tracemalloc

import numpy as np
import pytest

from ndpool import spec
from ndpool.spec import ConstraintError
from ndpool.spec import geometry as sg
from ndpool.spec.blocks import CELL_BYTES, blocks
from ndpool.spec.op import ADAPTIVE, SLIDING
from ndpool.spec.s3 import GridBounds

CHANNEL_VALUES = (2.0, 0.5, 1.5, 3.0)
POSITIVE = ("gem_pool", "lp_pool", "quantile_pool")  # parameters that want positive cells
WITH_NAN = ("max_pool", "adaptive_max_pool", "avg_pool", "median_pool")


def _draw(op, rng, d):
    """Primals (x with ties, zeros of both signs and a NaN or two) and a config."""
    spatial = tuple(int(n) for n in rng.integers(4, 8 if d < 3 else 6, d))
    if op.adaptive:
        cfg = {"output_size": tuple(int(rng.integers(1, n + 2)) for n in spatial)}
    else:
        k = tuple(int(v) for v in rng.integers(1, 4, d))
        cfg = {
            "kernel_size": k,
            "stride": tuple(int(v) for v in rng.integers(1, 3, d)),
            "padding": tuple(int(rng.integers(0, v // 2 + 1)) for v in k),
            "ceil_mode": bool(rng.integers(2)),
        }
        if "dilation" in op.config_defaults and rng.random() < 0.3:
            cfg["dilation"] = 2
    x = rng.integers(-2, 3, (2, 3, *spatial)).astype(np.float64)  # ties
    if op.input_specs[0].domain != "real" or op.name in POSITIVE:
        x = np.abs(x) + 0.5
    else:
        x = np.where(x == 0, rng.choice([-0.0, 0.0], x.shape), x)  # zeros of both signs
        if rng.random() < 0.5:
            x = x + 0.25 * rng.standard_normal(x.shape)
        if op.name in WITH_NAN:
            x.reshape(-1)[rng.integers(x.size, size=2)] = np.nan
    out = spec.output_shape(op.name, x.shape, **cfg)
    primals = [x]
    for s in op.input_specs[1:]:
        if s.sampler is not None:
            primals.append(s.sampler(rng, x.shape, **cfg))
        elif s.kind == "channel" and s.domain == "(0, 1)":
            primals.append(rng.uniform(0.2, 0.8, x.shape[1]))
        elif s.kind == "channel":
            primals.append(rng.choice(CHANNEL_VALUES, x.shape[1]))
        elif s.kind == "position":  # one per channel and output position: cut per block
            primals.append(rng.choice(CHANNEL_VALUES, (x.shape[1], *out[2:])))
        elif s.kind == "window":
            k = op.geometry(x.shape, **cfg).window_size
            primals.append(rng.uniform(-0.9, 0.9, (x.shape[1], k)))
        elif s.kind == "output":
            primals.append(rng.uniform(0.0, 1.0, out))
        elif s.kind == "cell":
            k = op.geometry(x.shape, **cfg).window_size
            primals.append(rng.standard_normal((*out, k)))
        else:
            pytest.skip(f"{op.name}: no generator for input kind {s.kind!r}")
    return primals, cfg, out


def _traced(fn):
    """``(fn(), peak bytes traced while it ran)``."""
    tracemalloc.start()
    try:
        return fn(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _evaluate(op, primals, cfg, tangents, y_bar):
    forward = op.forward(*primals, **cfg)
    indices = op.forward(*primals, return_indices=True, **cfg) if op.returns_indices else None
    return forward, indices, op.jvp(primals, tangents, **cfg), op.vjp(primals, y_bar, **cfg)


@pytest.mark.parametrize("name", sorted(spec.OPS))
def test_blocked_evaluation_is_bit_identical(name):
    """Forward (with indices), JVP and VJP under budgets that cut the call into whole
    batch entries, into boxes of positions, and into single positions, against the
    unblocked evaluation."""
    op = spec.OPS[name]
    rng = np.random.default_rng(sorted(spec.OPS).index(name))
    cases = 0
    for d in (1, 2, 3, 2, 1):
        try:
            primals, cfg, out = _draw(op, rng, d)
            with spec.memory_budget(None):
                tangents = [
                    rng.standard_normal(np.shape(p)) if p is not None and s.differentiable else None
                    for s, p in zip(op.input_specs, primals)
                ]
                y_bar = rng.standard_normal(out)
                whole = _evaluate(op, primals, cfg, tangents, y_bar)
        except ConstraintError:
            continue
        cases += 1
        with spec.memory_budget(None):
            cells = out[1] * op.gather(primals, **cfg)[1].shape[-1]
        positions = int(np.prod(out[2:]))
        for budget in (1, 3 * cells * CELL_BYTES, positions * cells * CELL_BYTES):
            with spec.memory_budget(budget):
                if len(blocks(out[0], out[2:], cells)) == 1:
                    assert budget > 1, f"{name}: a budget of 1 byte gives one block"
                    continue
                got = _evaluate(op, primals, cfg, tangents, y_bar)
            for what, a, b in zip(("forward", "indices", "jvp", "vjp"), got, whole):
                a = a if isinstance(a, tuple) else (a,)
                b = b if isinstance(b, tuple) else (b,)
                for i, (u, v) in enumerate(zip(a, b)):
                    assert _same(u, v), (
                        f"{name} {what}[{i}] under a budget of {budget} bytes differs from the "
                        f"unblocked result; cfg {cfg}, x shape {primals[0].shape}"
                    )
    assert cases >= 2, f"{name}: only {cases} valid configurations drawn"


def test_blocks_cover_every_output_once_in_row_major_order():
    for batch, out, cells, budget in itertools.product(
        (1, 3), ((5,), (4, 3), (2, 3, 4)), (1, 6), (1, 7, 40, 200, 10**6)
    ):
        with spec.memory_budget(budget * CELL_BYTES):
            parts = blocks(batch, out, cells)
        seen = np.zeros((batch, *out), dtype=int)
        order = []
        for b, box in parts:
            seen[(b, *box)] += 1
            block = seen[(b, *box)].size
            assert block * cells <= max(budget, cells), (
                f"a block of {block} positions x {cells} cells exceeds {budget} cells"
            )
            order.append(np.ravel_multi_index([s.start for s in (b, *box)], (batch, *out)))
        assert (seen == 1).all(), f"batch {batch}, out {out}: outputs covered {seen.ravel()}"
        assert order == sorted(order), f"blocks out of row-major order: {order}"


def _window_params(name, rng, channels, k):
    """The parameters of a VJP that tests window-shaped parameters' cotangents."""
    return {
        "max_pool": (),
        "gated_pool": (0.1 * rng.standard_normal((channels, k)), rng.standard_normal(channels)),
        "tree_pool": tuple(rng.standard_normal((channels, k)) for _ in range(3)),
    }[name]


@pytest.mark.parametrize("name", ["max_pool", "gated_pool", "tree_pool"])
def test_peak_memory_follows_the_budget(name):
    """A 2-D forward + VJP on (4, 16, 64, 64), kernel 3: the unblocked evaluation's peak
    grows with the gathered windows, the blocked one stays near the input and output
    plus the budget: a window-shaped parameter's cotangent (gated_pool's omega, tree_pool's
    v1, v2 and omega) is summed block by block, never held as ``[N, C, *O, K]`` (18 MiB
    each here)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 16, 64, 64))
    primals = (x, *_window_params(name, rng, 16, 9))
    cfg = dict(kernel_size=3, stride=1, padding=1)
    y_bar = np.ones((4, 16, 64, 64))
    op = spec.OPS[name]

    def peak(budget):
        with spec.memory_budget(budget):
            return _traced(lambda: (op.forward(*primals, **cfg), op.vjp(primals, y_bar, **cfg)))[1]

    arrays = 4 * x.nbytes  # input, its compute copy, output and cotangent
    small, whole = peak(2**20), peak(None)
    assert small < arrays + 8 * 2**20, (
        f"{name}: blocked peak {small} bytes, expected < {arrays + 8 * 2**20}"
    )
    assert whole > 2 * small, f"{name}: unblocked peak {whole} is not above the blocked {small}"


def _spread(rng, shape):
    """Values of both signs over 16 decades: a sum of terms scaled by them depends on its
    order."""
    return rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(-8, 8, shape)


PARAMETER_CASES = {
    # name: (input shape, config, parameters as a function of (rng, C, K))
    "gated_pool per channel": (
        "gated_pool",
        (3, 4, 9, 8),
        dict(kernel_size=3, stride=1, padding=1),
        lambda rng, c, k: (0.3 * rng.standard_normal((c, k)), rng.standard_normal(c)),
    ),
    "gated_pool per layer": (
        "gated_pool",
        (2, 5, 7, 6, 5),
        dict(kernel_size=(2, 3, 2), stride=(1, 2, 1), ceil_mode=True),
        lambda rng, c, k: (0.3 * rng.standard_normal(k), rng.standard_normal(())),
    ),
    "tree_pool per channel": (
        "tree_pool",
        (3, 4, 10, 7),
        dict(kernel_size=(3, 2), stride=1, padding=(1, 0)),
        lambda rng, c, k: tuple(rng.standard_normal((c, k)) for _ in range(3)),
    ),
    "tree_pool per layer": (
        "tree_pool",
        (2, 3, 23),
        dict(kernel_size=4, stride=2, padding=2, dilation=2),
        lambda rng, c, k: tuple(rng.standard_normal(k) for _ in range(3)),
    ),
    "mixed_pool per channel": (
        "mixed_pool",
        (3, 4, 9, 8),
        dict(kernel_size=2),
        lambda rng, c, k: (rng.standard_normal(c),),
    ),
    "gumbel_pool per position": (
        "gumbel_pool",
        (3, 4, 9, 8),
        dict(kernel_size=2),
        None,  # drawn by the op's samplers and a per-position temperature
    ),
}


def _parameter_case(label, rng):
    name, shape, cfg, draw = PARAMETER_CASES[label]
    op = spec.OPS[name]
    x = rng.standard_normal(shape)
    with spec.memory_budget(None):
        out = spec.output_shape(name, shape, **cfg)
        k = op.geometry(shape, **cfg).window_size
    if draw is not None:
        return op, (x, *draw(rng, shape[1], k)), cfg, out
    primals = [x]
    for s in op.input_specs[1:]:
        if s.sampler is not None:
            primals.append(s.sampler(rng, shape, **cfg))
        else:  # the temperature: one per channel and output position
            primals.append(rng.uniform(0.5, 2.0, (shape[1], *out[2:])))
    return op, tuple(primals), cfg, out


def _ordered_oracle(op, primals, cfg, y_bar):
    """The definition of a parameter's cotangent, term by term: the reducer's per-cell
    terms of the whole call, added in a Python loop over batch entries, output positions
    (row-major) and channels, each into the entry of the parameter it belongs to."""
    with spec.memory_budget(None):
        call, w, params = op.gather(primals, **cfg)
        _, *bars = op.vjp_rule(w, params, call, y_bar)
    n, c, *o = y_bar.shape
    sums = []
    for s, p, bar in zip(op.input_specs[1:], primals[1:], bars):
        if not s.differentiable or p is None:
            sums.append(None)
            continue
        p = np.asarray(p)
        k = (w.shape[-1],) if s.kind == "window" else ()
        terms = np.broadcast_to(bar, y_bar.shape + k)
        total = np.zeros(p.shape)
        for i in range(n):
            for pos in itertools.product(*map(range, o)):
                for ch in range(c):
                    term = terms[(i, ch, *pos)]
                    if s.kind == "window":  # [K] or [C, K]
                        at = (ch,) if p.ndim == 2 else ()
                    else:  # (), [C] or [C, *O]
                        at = ((ch,) + pos)[: p.ndim]
                    total[at] = total[at] + term
        sums.append(total)
    return sums


@pytest.mark.parametrize("label", sorted(PARAMETER_CASES))
def test_parameter_cotangents_are_summed_in_one_order_whatever_the_budget(label):
    """A parameter's cotangent is its terms added one at a time, batch entry, then output
    position (row-major), then channel, under every budget: the same bits unblocked, in
    whole batch entries, in boxes and in single positions, as the oracle that adds the
    reducer's terms in that order in a Python loop. The cotangent ``y_bar`` spans 16
    decades, so any other order (a pairwise sum, a sum per block) changes the result."""
    rng = np.random.default_rng(sorted(PARAMETER_CASES).index(label))
    op, primals, cfg, out = _parameter_case(label, rng)
    y_bar = _spread(rng, out)
    want = _ordered_oracle(op, primals, cfg, y_bar)
    with spec.memory_budget(None):
        cells = out[1] * op.gather(primals, **cfg)[1].shape[-1]
    positions = int(np.prod(out[2:]))
    counts = set()
    for budget in (None, positions * cells * CELL_BYTES, 3 * cells * CELL_BYTES, 1):
        with spec.memory_budget(budget):
            counts.add(len(blocks(out[0], out[2:], cells)))
            got = op.vjp(primals, y_bar, **cfg)[1:]
        for s, u, v in zip(op.input_specs[1:], got, want):
            assert _same(u, v), (
                f"{label}: the cotangent of {s.name} under a budget of {budget} bytes is "
                f"not the ordered sum of its terms; cfg {cfg}, x shape {primals[0].shape}; "
                f"largest difference {np.max(np.abs(np.asarray(u) - v)) if u is not None else u}"
            )
    assert len(counts) == 4, f"{label}: the budgets gave block counts {sorted(counts)}"


def test_memory_budget_is_scoped():
    assert spec.current_memory_budget() == spec.DEFAULT_MEMORY_BUDGET
    with pytest.raises(RuntimeError):
        with spec.memory_budget(1000):
            assert spec.current_memory_budget() == 1000
            with spec.memory_budget(None):
                assert spec.current_memory_budget() is None
            assert spec.current_memory_budget() == 1000
            raise RuntimeError
    assert spec.current_memory_budget() == spec.DEFAULT_MEMORY_BUDGET
    seen = []
    with spec.memory_budget(5):
        worker = threading.Thread(target=lambda: seen.append(spec.current_memory_budget()))
        worker.start()
        worker.join()
    assert seen == [spec.DEFAULT_MEMORY_BUDGET], f"another thread saw the budget {seen}"


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "1MB"])
def test_memory_budget_rejects_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="memory_budget"):
        with spec.memory_budget(bad):
            pass


HUGE = (10**12, 2**70)


@pytest.mark.parametrize("length", HUGE)
@pytest.mark.parametrize(
    "name", sorted(n for n, op in spec.OPS.items() if op.windows in (SLIDING, ADAPTIVE))
)
def test_output_shape_of_a_huge_axis_is_arithmetic(name, length):
    """output_shape on an axis of 10**12 or 2**70 cells, "same" padding and a 2**70
    stride included, allocates nothing the size of the axis."""
    op = spec.OPS[name]
    configs = (
        [({"output_size": (7, None)}, (7, 5)), ({"output_size": (None, None)}, (length, 5))]
        if op.adaptive
        else [
            ({"kernel_size": (3, 2), "padding": "same"}, (-(-length // 3), 3)),
            ({"kernel_size": 3, "stride": (2, 2**70), "padding": 1}, ((length - 1) // 2 + 1, 1)),
            ({"kernel_size": (2, 2), "ceil_mode": True}, (length // 2, 3)),
        ]
    )
    spec.output_shape(name, (2, 3, 9, 5), **configs[0][0])  # imports and caches warmed up
    for cfg, want in configs:
        got, top = _traced(lambda cfg=cfg: spec.output_shape(name, (2, 3, length, 5), **cfg))
        assert got == (2, 3, *want), f"{name} {cfg}: shape {got}, expected {(2, 3, *want)}"
        assert top < 2**16, f"{name} {cfg}: output_shape peaked at {top} traced bytes"


@pytest.mark.parametrize("length", HUGE)
def test_s3_output_shape_of_a_huge_axis_is_arithmetic(length):
    """s3_pool's grids are counted, not listed: its output_shape on a huge axis allocates
    nothing the size of the axis, in every mode."""
    configs = [
        ({"kernel_size": 2}, length // 2),
        ({"kernel_size": 3, "stride": 2, "grid_size": 6}, length // 6 * 3),
        ({"kernel_size": 2, "mode": "eval"}, length // 2),
        ({"kernel_size": 2, "mode": "eval", "eval_rule": "padded"}, (length - 1) // 2 + 1),
    ]
    spec.output_shape("s3_pool", (1, 1, 9), kernel_size=2)
    for cfg, want in configs:
        got, top = _traced(lambda cfg=cfg: spec.output_shape("s3_pool", (1, 1, length), **cfg))
        assert got == (1, 1, want), f"{cfg}: shape {got}, expected {(1, 1, want)}"
        assert top < 2**16, f"{cfg}: output_shape peaked at {top} traced bytes"


@pytest.mark.parametrize(
    "grids,grid,end", [(1, 4, 3), (1, 4, 7), (2, 4, 7), (3, 4, 11), (3, 4, 13)]
)
def test_s3_grid_bounds_are_the_listed_grids(grids, grid, end):
    """Grid j covers [j g, (j + 1) g), the last runs to L' (shorter or longer than g)."""
    listed = [(j * grid, (j + 1) * grid) for j in range(grids - 1)] + [((grids - 1) * grid, end)]
    bounds = GridBounds(grids=grids, grid=grid, end=end)
    assert list(bounds) == listed and len(bounds) == grids
    assert bounds[-1] == listed[-1] and bounds[1:] == listed[1:]
    assert bounds.longest == max(hi - lo for lo, hi in listed)
    with pytest.raises(IndexError):
        bounds[grids]


def test_padding_resolution_of_a_huge_axis_is_exact():
    length, stride = 2**70 + 3, 2**35
    (pads,) = sg.resolve_padding("same", (length,), (5,), (stride,), (1,))
    total = max((-(-length // stride) - 1) * stride + 5 - length, 0)
    assert pads == (total // 2, total - total // 2), pads
