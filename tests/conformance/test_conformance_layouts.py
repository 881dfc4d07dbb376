"""Memory layouts as a strategy dimension: every torch-based target (torch, torch-compile,
ndpool.impl, triton) receives ``x`` in the case's layout in every call path -- the eager
forward, each call mode (torch.func, torch.compile), each derivative mode (torch.func's
jvp / vjp, forward-mode duals, eager autograd, the Jacobians) -- with JVP tangents and VJP
cotangents in the same layout; the layouts are what their names say (torch's own
``channels_last`` / ``channels_last_3d`` formats, a transposed view, a strided view with
gaps and an offset), NumPy targets get the same strides; and a kernel that reads its
input's storage as if it were contiguous is caught by the suite on every layout but
``contiguous``."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ndpool import spec  # noqa: E402
from ndpool.conformance.cases import Case  # noqa: E402
from ndpool.conformance.runner import run_property  # noqa: E402
from ndpool.conformance.targets import ALL_LAYOUTS, Capabilities, TorchTarget  # noqa: E402
from ndpool.conformance.targets.base import memory_order, numpy_layout  # noqa: E402
from ndpool.conformance.targets.torch_callables import to_tensor  # noqa: E402

NON_CONTIGUOUS = tuple(lay for lay in ALL_LAYOUTS if lay != "contiguous")


def test_the_layouts():
    assert ALL_LAYOUTS == ("contiguous", "channels_last", "transposed", "strided")
    assert Capabilities().layouts == ALL_LAYOUTS


# -- what each layout is ------------------------------------------------------------------
#: (shape, batched, layout) -> (strides, storage offset), written out by hand
STRIDES = {
    ((2, 3, 4, 5), True, "contiguous"): ((60, 20, 5, 1), 0),
    ((2, 3, 4, 5), True, "channels_last"): ((60, 1, 15, 3), 0),
    ((2, 3, 4, 5), True, "transposed"): ((60, 20, 1, 4), 0),
    # buffer [2, 3, 8, 10], every other element of H and W from the second
    ((2, 3, 4, 5), True, "strided"): ((240, 80, 20, 2), 11),
    ((2, 3, 4, 5, 6), True, "channels_last"): ((360, 1, 90, 18, 3), 0),
    ((2, 3, 4, 5, 6), True, "transposed"): ((360, 120, 1, 4, 20), 0),
    ((2, 3, 4, 5, 6), True, "strided"): ((2880, 960, 240, 24, 2), 1 + 12 + 120),
    # d = 1: channels_last puts C innermost; transposed reverses every axis
    ((2, 3, 4), True, "channels_last"): ((12, 1, 3), 0),
    ((2, 3, 4), True, "transposed"): ((1, 2, 6), 0),
    ((2, 3, 4), True, "strided"): ((24, 8, 2), 1),
    # unbatched: the channel axis is the first
    ((3, 4, 5), False, "channels_last"): ((1, 15, 3), 0),
    ((3, 4, 5), False, "transposed"): ((20, 1, 4), 0),
    ((3, 4, 5), False, "strided"): ((80, 20, 2), 11),
    ((3, 4), False, "transposed"): ((1, 3), 0),
    ((3, 4, 5, 6), False, "channels_last"): ((1, 90, 18, 3), 0),
}


@pytest.mark.parametrize("key", list(STRIDES), ids=lambda k: f"{k[0]}-{k[1]}-{k[2]}")
def test_layout_strides(key):
    shape, batched, layout = key
    strides, offset = STRIDES[key]
    a = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    t = to_tensor(a, "float64", "cpu", layout, batched)
    assert (t.stride(), t.storage_offset()) == (strides, offset)
    assert np.array_equal(t.numpy(), a)
    n = numpy_layout(a, layout, batched)
    assert tuple(s // 8 for s in n.strides) == strides
    assert np.array_equal(n, a)


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_layouts_in_every_rank(layout, d, batched):
    """Every layout exists in every rank: the values are kept, the strides are the
    layout's (NumPy's the same as torch's), only ``contiguous`` is contiguous, and the
    memory formats are torch's own for batched 2-D and 3-D pooling."""
    shape = ((2,) if batched else ()) + (3,) + tuple(range(2, 2 + d))
    a = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    t = to_tensor(a, "float64", "cpu", layout, batched)
    assert np.array_equal(t.numpy(), a)
    n = numpy_layout(a, layout, batched)
    assert np.array_equal(n, a)
    assert tuple(s // 8 for s in n.strides) == t.stride()
    assert t.is_contiguous() == (layout == "contiguous")
    formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    if batched and t.ndim in formats:
        assert t.is_contiguous(memory_format=formats[t.ndim]) == (layout == "channels_last")
    order = memory_order(layout, t.ndim, batched)
    by_stride = sorted(range(t.ndim), key=lambda i: -t.stride()[i])
    if layout != "strided":
        assert tuple(by_stride) == order  # the memory order, outermost first
    if layout == "channels_last":
        assert t.stride()[1 if batched else 0] == 1
    if layout == "transposed":  # a view whose strides are not descending
        assert list(t.stride()) != sorted(t.stride(), reverse=True)
        if d >= 2:
            assert order[-d:] == tuple(range(t.ndim))[-d:][::-1]
    if layout == "strided":  # not dense (gaps), an offset, a step on every spatial axis
        assert t.storage_offset() > 0
        assert t.untyped_storage().nbytes() // t.element_size() >= 2**d * t.numel()
        assert all(t.stride()[i] % 2 == 0 for i in range(t.ndim - d, t.ndim))


def test_the_old_name_is_understood():
    a = np.arange(24.0).reshape(2, 3, 4)
    old = to_tensor(a, "float32", "cpu", "noncontiguous")
    new = to_tensor(a, "float32", "cpu", "strided")
    assert (old.stride(), old.storage_offset()) == (new.stride(), new.storage_offset())
    with pytest.raises(ValueError, match="unknown layout"):
        to_tensor(a, "float32", "cpu", "tiled")


# -- what the targets receive --------------------------------------------------------------
class Spy:
    """Wraps an op callable: records the strides of ``x`` as the op receives it, of the
    tangent of ``x`` (forward mode) and of the cotangent of its output (reverse mode).
    The recording runs eagerly (outside Dynamo) so that under torch.compile it sees the
    tensors the compiled function was given."""

    def __init__(self):
        self.log: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []

    def record(self, what: str, t) -> None:
        self.log.append((what, tuple(t.shape), tuple(t.stride())))

    def wrap(self, fn):
        spy = self

        @torch._dynamo.disable
        def spied(x, *args, **kw):
            spy.record("x", x)
            out = fn(_Probe.apply(x, spy, "x_dot"), *args, **kw)
            if isinstance(out, tuple):  # (values, indices): a forward call
                return out
            return _Probe.apply(out, spy, "y_bar")

        return spied

    def seen(self, what: str) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        return [(shape, stride) for w, shape, stride in self.log if w == what]


class _Probe(torch.autograd.Function):
    """The identity, telling ``spy`` the tangent (jvp) or cotangent (backward) it sees."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, spy, what):
        return x.view_as(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.spy, ctx.what = inputs[1], inputs[2]

    @staticmethod
    def backward(ctx, g):
        if ctx.what == "y_bar":
            ctx.spy.record("y_bar", g)
        return g, None, None

    @staticmethod
    def jvp(ctx, t, _spy, _what):
        if ctx.what == "x_dot":
            ctx.spy.record("x_dot", t)
        return t.view_as(t)


def _targets():
    out = ["torch", "torch-compile", "ndpool.impl"]
    try:
        import triton  # noqa: F401
    except ImportError:
        return out
    return [*out, "triton"]


def _spied_target(name: str, op: str):
    from ndpool.conformance.targets import load_target

    target = load_target(name)
    spy = Spy()
    spied = spy.wrap(target._fn(op))
    if name == "torch-compile":
        target.compiled_ops.ops = {**target.compiled_ops.ops, op: spied}
    target.ops = {op: spied}  # a copy: the module's dict of ops stays as it is
    return target, spy


#: (x shape, batched, kernel): batched 2-D and 3-D pooling (torch's channels_last and
#: channels_last_3d), 1-D pooling and an unbatched case; every axis longer than 1 so that
#: the layouts are distinct
GEOMETRIES = [
    ((2, 3, 4, 6), True, (2, 2)),
    ((2, 2, 4, 4, 6), True, (2, 2, 2)),
    ((2, 3, 6), True, (2,)),
    ((3, 4, 6), False, (2, 2)),
]


def _case(shape, batched, kernel, layout):
    rng = np.random.default_rng(0)
    x = rng.permutation(math.prod(shape)).reshape(shape).astype(np.float64)  # no ties
    return Case(
        op="max_pool",
        x=x,
        cfg={"kernel_size": kernel},
        dtype="float64",
        layout=layout,
        batched=batched,
    )


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}-{g[1]}")
@pytest.mark.parametrize("layout", ALL_LAYOUTS)
@pytest.mark.parametrize("name", _targets())
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_call_path_receives_the_layout(name, layout, geometry):
    shape, batched, kernel = geometry
    if name == "torch-compile" and shape != GEOMETRIES[0][0]:
        pytest.skip("one geometry under Inductor (a compilation per layout)")
    case = _case(shape, batched, kernel, layout)
    target, spy = _spied_target(name, case.op)
    x_layout = (shape, to_tensor(case.x, "float64", "cpu", layout, batched).stride())
    y = spec.max_pool(case.x, **case.cfg)
    y_layout = (y.shape, to_tensor(y, "float64", "cpu", layout, batched).stride())
    rng = np.random.default_rng(1)
    tangents = (rng.standard_normal(shape),)
    cotangent = rng.standard_normal(y.shape)

    def check(path: str, expect: dict[str, tuple]) -> None:
        for what, want in expect.items():
            seen = spy.seen(what)
            assert seen, f"{name} {path}: the op saw no {what}"
            assert set(seen) == {want}, f"{name} {path}: {what} {seen}, expected {want}"
        spy.log.clear()

    y_got = target.forward(case)
    np.testing.assert_array_equal(y_got, y)
    check("forward", {"x": x_layout})
    for mode in target.call_modes(case.op):
        if mode != "eager":
            np.testing.assert_array_equal(target.forward_in(case, mode), y)
            check(f"forward in {mode}", {"x": x_layout})
    if target.provides_gradient(case.op, "jvp"):
        for mode in target.derivative_modes(case, "jvp", finite=True):
            _, y_dot = target.jvp(case, tangents, mode)
            _, want = spec.jvp("max_pool", case.primals, tangents, **case.cfg)
            np.testing.assert_allclose(y_dot, want, rtol=1e-12)
            # jacfwd's tangents are its basis vectors, not the case's
            expect = {"x": x_layout} if mode == "jacfwd" else {"x": x_layout, "x_dot": x_layout}
            check(f"jvp ({mode})", expect)
    assert target.provides_gradient(case.op, "vjp")
    for mode in target.derivative_modes(case, "vjp", finite=True):
        (x_bar,) = target.vjp(case, cotangent, mode)
        (want,) = spec.vjp("max_pool", case.primals, cotangent, **case.cfg)
        np.testing.assert_allclose(x_bar, want, rtol=1e-12)
        # jacrev's cotangents are its basis vectors, not the case's
        expect = {"x": x_layout} if mode == "jacrev" else {"x": x_layout, "y_bar": y_layout}
        check(f"vjp ({mode})", expect)


def test_the_derivative_modes_are_all_covered():
    """The spy test above reaches every derivative and call mode ndpool.impl has."""
    from ndpool.conformance.targets.impl import make_target

    target = make_target()
    case = _case(*GEOMETRIES[0], "strided")
    assert set(target.call_modes("max_pool")) == {"eager", "torch.func", "torch.compile"}
    assert set(target.derivative_modes(case, "jvp", True)) == {"default", "forward_ad", "jacfwd"}
    assert set(target.derivative_modes(case, "vjp", True)) == {"default", "autograd", "jacrev"}


# -- a kernel that assumes contiguity is caught ------------------------------------------
def _contiguous_strides(shape) -> tuple[int, ...]:
    out, step = [], 1
    for s in reversed(shape):
        out.append(step)
        step *= max(s, 1)
    return tuple(reversed(out))


def _reads_storage_as_contiguous(fn):
    """``fn`` behind a kernel that reads ``x`` from its data pointer as if ``x`` were
    contiguous (``x.view(-1)`` of the raw storage): right for contiguous input only."""

    def broken(x, *args, **kw):
        raw = torch.as_strided(x, x.shape, _contiguous_strides(x.shape), x.storage_offset())
        return fn(raw, *args, **kw)

    return broken


def _copies_to_contiguous(fn):
    def fine(x, *args, **kw):
        return fn(x.contiguous(), *args, **kw)

    return fine


def _max_pool_target(wrapper, layouts, name):
    from ndpool import impl

    return TorchTarget(
        {"max_pool": wrapper(impl.max_pool)},
        name=name,
        capabilities=Capabilities(layouts=layouts, error_ids=True),
    )


@pytest.mark.parametrize("layout", NON_CONTIGUOUS)
def test_a_kernel_assuming_contiguity_is_caught(layout):
    target = _max_pool_target(_reads_storage_as_contiguous, (layout,), "assumes-contiguous")
    outcome = run_property(target, "max_pool", "forward", max_examples=20)
    assert outcome.status == "fail", outcome.message
    assert f"layout={layout}" in outcome.message


def test_a_kernel_assuming_contiguity_passes_on_contiguous_input():
    """The control: the same broken kernel is right where its assumption holds."""
    target = _max_pool_target(_reads_storage_as_contiguous, ("contiguous",), "assumes-contiguous")
    outcome = run_property(target, "max_pool", "forward", max_examples=20)
    assert outcome.status == "pass", outcome.message


def test_a_kernel_that_copies_to_contiguous_passes():
    target = _max_pool_target(_copies_to_contiguous, ALL_LAYOUTS, "copies-to-contiguous")
    outcome = run_property(target, "max_pool", "forward", max_examples=20)
    assert outcome.status == "pass", outcome.message
