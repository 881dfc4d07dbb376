"""The edge corpus and the invalid_config breakers reach what they claim to, and the
output checks catch a wrong dtype: each test holds the suite to an independent fact (the
spec's own value and error, a mutant's bug), never to the suite's own output."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from ndpool import spec
from ndpool.conformance import corpus
from ndpool.conformance.cases import LARGEST, SMALLEST_SUBNORMAL, Case
from ndpool.conformance.properties import invalid_breakers, type_breakers
from ndpool.conformance.runner import CheckContext
from ndpool.conformance.targets import Capabilities, NumpyTarget, load_target
from ndpool.conformance.tools.mutants import MUTANTS

SLIDING = [op for op, r in spec.OPS.items() if r.windows.name == "sliding"]
ADAPTIVE = [op for op, r in spec.OPS.items() if r.windows.name == "adaptive"]
CAPS = Capabilities()


@pytest.mark.parametrize("edge", corpus.SLIDING_EDGES + corpus.ADAPTIVE_EDGES, ids=lambda e: e.name)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_every_edge_is_a_valid_input_the_spec_computes(edge, dtype):
    """Each edge is valid for max / adaptive max (the spec accepts it) in every rank a
    target may declare, and its cells are representable in the dtype."""
    op = "max_pool" if edge.windows == "sliding" else "adaptive_max_pool"
    for ranks in ((1,), (2, 3), (3,)):
        if edge.spatial > min(ranks):  # a 2-D edge: not at rank 1
            with pytest.raises(corpus.NotApplicable):
                corpus.pinned(edge, op, CAPS.replace(ranks=ranks), dtype, 1.0)
            continue
        x, cfg, batched = corpus.pinned(edge, op, CAPS.replace(ranks=ranks), dtype, 1.0)
        d = ranks[0]
        assert x.ndim == d + (2 if batched else 1)
        y = spec.OPS[op].function(x, **cfg)
        assert y.shape == tuple(spec.output_shape(op, x.shape, **cfg))


def test_the_edges_hold_what_they_name():
    """The NaN edge has a window of NaN only and one with two NaNs; the infinities edge a
    window of -inf only and one with both signs; the magnitudes edge a window of
    subnormals only and one whose sum overflows where its mean does not."""
    by_name = {e.name: e for e in corpus.SLIDING_EDGES}

    def windows(name, dtype="float32"):
        x, cfg, _ = corpus.pinned(by_name[name], "max_pool", CAPS, dtype, 1.0)
        geom = spec.OPS["max_pool"].geometry(x.shape, **cfg)
        return geom.gather(x, fill=np.nan), np.broadcast_to(geom.real, geom.gather(x, 0).shape)

    w, real = windows("nan")
    nans = (np.isnan(w) & real).sum(-1)
    assert (nans == real.sum(-1)).any() and (nans == 2).any() and (nans == 1).any()
    w, real = windows("infinities")
    all_neg_inf = ((w == -np.inf) | ~real).all(-1)
    assert all_neg_inf[..., 0].any() and all_neg_inf[..., 1:].any()
    assert ((w == np.inf).any(-1) & (w == -np.inf).any(-1)).any()
    for dtype in ("float16", "float32", "float64"):
        w, real = windows("magnitudes", dtype)
        sub = SMALLEST_SUBNORMAL[dtype] * 2**10  # below the smallest normal in every dtype
        assert ((np.abs(w) < sub) & (w != 0)).all(-1).any()
        sums = np.where(real, np.abs(w) / LARGEST[dtype], 0).sum(-1)  # in units of the largest
        assert ((sums > 1) & (sums / 3 < 1)).any()


def test_the_padding_edges_hold_what_they_name():
    """The empty-window edge has a window of padding only; the two "same" edges have a
    negative ONNX SAME total (the fact the registries scope by) and windows that the spec
    starts at cells 0 and 4, in every rank a target may declare."""
    from ndpool.conformance import facts

    by_name = {e.name: e for e in corpus.SLIDING_EDGES}
    for ranks in ((1,), (2, 3), (3,)):
        caps = CAPS.replace(ranks=ranks)
        x, cfg, _ = corpus.pinned(by_name["empty-window"], "avg_pool", caps, "float32", 1.0)
        geom = spec.OPS["avg_pool"].geometry(x.shape, **cfg)
        assert not np.broadcast_to(geom.real, geom.gather(x, 0).shape).any()
        assert np.isnan(spec.avg_pool(x, **cfg)).all()
        for name in ("same-stride-past-kernel", "same-lower-stride-past-kernel"):
            x, cfg, _ = corpus.pinned(by_name[name], "max_pool", caps, "float64", 1.0)
            case = Case(
                op="max_pool", x=x, params=(), cfg=cfg, dtype="float64",
                layout="contiguous", batched=True, return_indices=False,
            )  # fmt: skip
            assert facts.same_padding_negative(case)
            assert spec.max_pool(x, **cfg).ravel().tolist() == [x.ravel()[0], x.ravel()[4]]


def test_the_corpus_is_lifted_to_every_declared_rank_up_to_3d():
    """A target's 1-D, 2-D and 3-D pooling are separate kernels: each edge is pinned in each
    declared rank up to 3 (its cells on the last axis, length-1 axes before), once where a
    target declares one rank; a rank the op does not declare is skipped, not failed."""
    nan = next(e for e in corpus.SLIDING_EDGES if e.name == "nan")
    assert corpus.per_rank(nan, (2,)) == [nan]
    lifted = corpus.per_rank(nan, (1, 2, 3, 4, 5))
    assert [e.rank for e in lifted] == [1, 2, 3]
    for e in lifted:
        x, cfg, _ = corpus.pinned(e, "max_pool", CAPS, "float32", 1.0)
        assert x.shape == (1, 3) + (1,) * (e.rank - 1) + (6,)
        assert e.rank == 1 or len(cfg["kernel_size"]) == e.rank
        assert spec.max_pool(x, **cfg).shape[-1] == 4
    with pytest.raises(corpus.NotApplicable):
        corpus.pinned(lifted[2], "max_pool", CAPS.replace(ranks=(1, 2)), "float32", 1.0)


@pytest.mark.parametrize("form", ["ints", "pairs"])
def test_an_edge_lifted_along_the_first_axis_is_the_last_axis_edge_transposed(form):
    """Lifted along the first spatial axis (:func:`corpus.per_axis`), every sliding and
    adaptive edge is the same pooling problem as along the last: its cells, geometry and
    padding move to that axis, so the spec's output is the last-axis one with the two
    spatial axes swapped. Lifted along every axis, its geometry is on both axes and its
    cells repeat along the first."""
    caps = CAPS.replace(padding_forms=("valid", "same", "same_lower", form))
    ops = {"sliding": "avg_pool", "adaptive": "adaptive_avg_pool"}
    for e in corpus.SLIDING_EDGES + corpus.ADAPTIVE_EDGES:
        if e.spatial > 1:  # cells on two axes already: not lifted (the 2-D ties test)
            continue
        last, first, every = corpus.per_axis(dataclasses.replace(e, rank=2))
        assert (last.axis, first.axis, every.axis) == (-1, 0, "every")
        op = ops[e.windows]
        try:
            x, cfg, _ = corpus.pinned(last, op, caps, "float64", 1.0)
        except corpus.NotApplicable:
            continue
        xf, cfgf, _ = corpus.pinned(first, op, caps, "float64", 1.0)
        assert xf.shape[-2:] == x.shape[-2:][::-1], e.name
        np.testing.assert_array_equal(xf, np.swapaxes(x, -1, -2))
        with np.errstate(all="ignore"):
            want = getattr(spec, op)(x, **cfg)
            got = getattr(spec, op)(xf, **cfgf)
        np.testing.assert_array_equal(got, np.swapaxes(want, -1, -2), err_msg=e.name)
        xe, cfge, _ = corpus.pinned(every, op, caps, "float64", 1.0)
        assert xe.shape[-2:] == (x.shape[-1],) * 2, e.name
        np.testing.assert_array_equal(xe, np.broadcast_to(x, xe.shape))  # rows repeat the cells
        for key, value in cfg.items():
            if isinstance(value, tuple) and key != "padding":
                assert cfge[key] == (value[-1],) * 2, (e.name, key)
        if isinstance(cfg.get("padding"), tuple):
            assert cfge["padding"] == (cfg["padding"][-1],) * 2, e.name
    assert corpus.per_axis(dataclasses.replace(e, rank=1)) == [dataclasses.replace(e, rank=1)]


def test_empty_inputs_and_magnitudes_are_pinned_to_every_dtype():
    """An empty input's outcome depends on the kernel a dtype dispatches to (TensorFlow's
    float32 average gradient rejects C = 0, its float16 one does not), a magnitude's on the
    dtype's range: those edges are pinned once per dtype, the others draw theirs."""
    dtypes = ("float16", "float32", "float64")
    for e in corpus.SLIDING_EDGES + corpus.ADAPTIVE_EDGES:
        pinned = corpus.per_dtype(e, dtypes)
        if e.name in ("empty-batch", "zero-channels", "magnitudes"):
            assert [p.dtype for p in pinned] == list(dtypes), e.name
        else:
            assert pinned == [e], e.name


def test_a_padding_form_the_target_lacks_skips_the_edge():
    same = next(e for e in corpus.SLIDING_EDGES if e.name == "same-stride-past-kernel")
    caps = CAPS.replace(padding_forms=("int", "ints", "pairs", "valid"))
    with pytest.raises(corpus.NotApplicable):
        corpus.pinned(same, "max_pool", caps, "float32", 1.0)


def test_an_edge_a_target_cannot_take_is_skipped_not_failed():
    unbatched = next(e for e in corpus.SLIDING_EDGES if e.name == "unbatched")
    with pytest.raises(corpus.NotApplicable):
        corpus.pinned(unbatched, "max_pool", CAPS.replace(batched=(True,)), "float32", 1.0)
    dilated = next(e for e in corpus.SLIDING_EDGES if e.name == "dilation-padding")
    caps = CAPS.replace(config_keys=("kernel_size", "stride", "padding"))
    with pytest.raises(corpus.NotApplicable):
        corpus.pinned(dilated, "max_pool", caps, "float32", 1.0)


@pytest.mark.parametrize("op", sorted(spec.OPS))
def test_every_type_breaker_is_rejected_by_the_spec(op):
    """A value of the wrong type for each keyword and parameter breaks a constraint the
    spec numbers (never a TypeError from deep inside, never accepted)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from ndpool.conformance.ops import OP_INFO
    from ndpool.conformance.properties import _apply_op_breaker
    from ndpool.conformance.strategies import cases

    breakers = type_breakers(op, CAPS)
    assert breakers, op

    @settings(max_examples=len(breakers) * 2, deadline=None, database=None)
    @given(st.data())
    def check(data):
        inv = data.draw(st.sampled_from(breakers))
        ctx = {"regimes": ("grid",), "batch": (1, 2), "batched": (True,)}
        base = data.draw(cases(OP_INFO[op], CAPS, ctx))
        case = _apply_op_breaker(inv, data, base)
        with pytest.raises(spec.ConstraintError):
            spec.OPS[op].function(*case.primals, **case.cfg)

    check()


def test_breakers_cover_every_keyword_and_parameter_of_max_and_lp():
    keys = {b.key for b in invalid_breakers("max_pool", load_target("ndpool.spec"))}
    assert {"kernel_size", "stride", "dilation", "padding", "ceil_mode", "return_indices"} <= keys
    keys = {b.key for b in invalid_breakers("lp_pool", load_target("ndpool.spec"))}
    assert {"norm_type", "sign"} <= keys


def _run(target, op, prop, profile="quick"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CheckContext(target, profile=profile, seed=0).run(op, prop)


def test_the_corpus_alone_finds_an_edge_bug():
    """With no drawn example at all (max_examples=0 is not allowed, so 1 on a clean
    grid), the corpus' NaN edge rejects a kernel that drops NaN."""
    target = MUTANTS["max-nan-dropped"].target()
    ctx = CheckContext(target, profile="quick", seed=0, max_examples=1)
    assert ctx.run("max_pool", "forward").status == "fail"
    ctx = CheckContext(target, profile="quick", seed=0, max_examples=1, corpus=False)
    assert [label for label, _ in ctx.pins("max_pool", "forward")] == []


@pytest.mark.parametrize("form", ["ints", "pairs", "same"])
def test_the_2d_ties_edge_has_ties_that_row_and_column_major_order_break_apart(form):
    """The 2-D ties edge is pinned at ranks 2 and 3 only (a leading axis of length 1 at 3),
    never lifted along other axes, and has windows reaching into padding on the last axis
    whose maximum ties where the first cell in row-major order is not the first in
    column-major order; the spec's indices are the row-major ones. A target whose only
    explicit padding is "same" (Keras, TensorFlow) gets "same", which pads the end."""
    from ndpool.conformance import facts

    edge = next(e for e in corpus.SLIDING_EDGES if e.name == "ties-2d")
    assert [e.rank for e in corpus.per_rank(edge, (1, 2, 3, 4))] == [2, 3]
    assert corpus.per_rank(edge, (1,)) == []
    assert corpus.per_axis(dataclasses.replace(edge, rank=2)) == [dataclasses.replace(edge, rank=2)]
    for rank in (2, 3):
        x, cfg, _ = corpus.pinned(
            dataclasses.replace(edge, rank=rank), "max_pool", CAPS, "float32", 1
        )
        assert x.shape == (1, 2) + (1,) * (rank - 2) + (3, 3)
        case = Case(
            op="max_pool", x=x, params=(), cfg=cfg, dtype="float32",
            layout="contiguous", batched=True, return_indices=True,
        )  # fmt: skip
        assert facts.max_tie(case) and facts.padded_after_first_axis(case)
        geom = spec.OPS["max_pool"].geometry(x.shape, **cfg)
        plane = x.reshape(2, 3, 3)
        w = geom.gather(x, fill=-np.inf).reshape(2, -1, 2, 2)  # [C, windows, kh, kw]
        top = w == w.max(axis=(-2, -1), keepdims=True)
        row_first = top.reshape(*top.shape[:2], 4).argmax(-1)
        col_first = np.swapaxes(top, -2, -1).reshape(*top.shape[:2], 4).argmax(-1)
        col_first = (col_first % 2) * 2 + col_first // 2  # back to row-major numbering
        assert (row_first != col_first).any(), plane
        _, idx = spec.max_pool(x, return_indices=True, **cfg)
        flat = np.broadcast_to(geom.index.reshape(-1, 4), (2, w.shape[1], 4))
        want = np.take_along_axis(flat, row_first[..., None], -1)[..., 0]
        assert (idx.reshape(2, -1) == want).all()


def test_the_corpus_alone_catches_ties_broken_in_column_major_order():
    """With one drawn example, whatever the seed, the 2-D ties edge rejects a kernel that
    gives a tie to the first maximizer in column-major order (a lift of a 1-D edge cannot:
    its ties lie along one axis, where both orders agree)."""
    target = MUTANTS["max-column-major-tie"].target()
    for seed in range(4):
        ctx = CheckContext(target, profile="quick", seed=seed, max_examples=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert ctx.run("max_pool", "indices").status == "fail", seed


def test_a_wrong_output_dtype_fails_and_names_the_dtypes():
    out = _run(MUTANTS["avg-float64-output"].target(), "avg_pool", "forward")
    assert out.status == "fail"
    assert "has dtype float64, not float" in out.message


def test_every_breaker_runs_once_before_the_drawn_examples():
    """The breakers of a target that rejects nothing all fail: the first one reported is
    the first of the list (run before any drawn example)."""

    def accepts_anything(x, **cfg):
        return np.zeros((1, 1, 1), dtype=np.asarray(x).dtype)

    target = NumpyTarget(
        type("NS", (), {"max_pool": staticmethod(accepts_anything)})(),
        name="accepts-anything",
        capabilities=Capabilities(error_ids=False),
    )
    out = _run(target, "max_pool", "invalid_config")
    first = invalid_breakers("max_pool", target)[0]
    assert out.status == "fail" and out.message.startswith(f"breaker: {first.what}")


def test_a_case_with_raw_parameters_reaches_the_target_unconverted():
    """A wrong-type parameter is passed as it is (a string stays a string), so the
    target's own check is what rejects it."""
    seen = []

    def lp(x, p, **cfg):
        seen.append(p)
        return spec.lp_pool(x, p, **cfg)

    target = NumpyTarget(type("NS", (), {"lp_pool": staticmethod(lp)})(), name="raw")
    case = Case(op="lp_pool", x=np.ones((1, 1, 4)), params=("2",), cfg={"kernel_size": 2})
    with pytest.raises(spec.ConstraintError, match=r"^C24"):
        target.forward(case)
    assert seen == ["2"]


def test_pins_draw_their_free_parts_from_the_seed():
    """Hypothesis' first example is the simplest draw (norm_type 1, the first layout) for
    every pin and seed: the pins pass it over, so their free parts change with the seed."""
    from ndpool.conformance.runner import Tally

    norms, layouts = set(), set()
    for seed_value in range(3):
        ctx = CheckContext(load_target("ndpool.spec"), seed=seed_value)
        cases = []
        ctx.observer = lambda case, what, args, seen=cases: seen.append(case)
        for _, pin in ctx.pins("lp_pool", "forward"):
            ctx._example("lp_pool", "forward", Tally(), pin)
        assert cases
        norms |= {float(np.ravel(c.params[0])[0]) for c in cases}
        layouts |= {c.layout for c in cases}
    assert len(norms) > 3 and len(layouts) > 1, (norms, layouts)


def test_the_thorough_corpus_pins_each_edge_in_every_layout_and_along_the_first_axis():
    """A framework may send each memory layout to a kernel of its own, and treat the outer
    spatial axes apart (torch's channels_last_3d max-pool indices of a window of -inf past
    depth 0): a pin that draws its layout meets one layout per run, and a 1-D edge lifted
    onto the last axis leaves the outer ones of length 1. The thorough profile pins each
    edge in every layout and along the first axis too, so a kernel wrong only there (a
    channels-last 3-D input with depth > 1 and a window of -inf only) fails with one drawn
    example, for every seed."""

    def max_pool(x, **cfg):
        y = spec.max_pool(x, **cfg)
        deep_channels_last = x.ndim == 5 and x.shape[2] > 1 and x.strides[1] < x.strides[2]
        return np.where(np.isneginf(y), 0, y) if deep_channels_last else y

    caps = Capabilities(ranks=(1, 2, 3), dtypes=("float32", "float64"))
    target = NumpyTarget(
        type("NS", (), {"max_pool": staticmethod(max_pool)})(),
        name="deep-channels-last-neg-inf",
        capabilities=caps,
    )
    labels = [label for label, _ in CheckContext(target, seed=0).pins("max_pool", "forward")]
    assert labels and not any("channels_last" in s or "first axis" in s for s in labels)
    thorough = CheckContext(target, profile="thorough", seed=0)
    labels = [label for label, _ in thorough.pins("max_pool", "forward")]
    for layout in caps.layouts:
        for axis in ("", " along the first axis", " along every axis"):
            assert any(f"infinities in 3-D{axis}, {layout} " in s for s in labels), (axis, layout)
    assert not any("1-D along" in s for s in labels)
    for seed_value in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ctx = CheckContext(
                target, profile="thorough", seed=seed_value, max_examples=1, discover=False
            )
            out = ctx.run("max_pool", "forward")
        assert out.status == "fail", seed_value
        assert "infinities in 3-D along the first axis, channels_last" in out.message
        assert "layout=channels_last" in out.message
