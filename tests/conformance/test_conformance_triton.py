"""The suite against ndpool.impl's Triton kernels (the ``triton`` target), run on CPU by
Triton's interpreter: the suite's value, index, derivative and invalid-configuration
properties pass with the target's deviations registry (empty; ``ndpool check --target
triton`` in CI runs every property), three deliberately broken variants of the entry
points are each rejected at the quick profile, and the entry points keep ndpool.impl's
signatures and checks. Skipped where Triton is not installed."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("triton")

from ndpool.conformance.runner import CheckContext
from ndpool.conformance.targets.base import DEVIATIONS_DIR
from ndpool.conformance.test_suite import *  # noqa: F403  (the suite's tests)

#: the properties run here; ``ndpool check --target triton`` (CI) runs all of them
pytestmark = [
    pytest.mark.ndpool_properties("forward", "indices", "jvp", "vjp", "invalid_config"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]

OPS = (
    "max_pool",
    "avg_pool",
    "lp_pool",
    "smooth_max_pool",
    "adaptive_max_pool",
    "adaptive_avg_pool",
)
SEED = 0


@pytest.fixture(scope="module")
def ndpool_target():
    from ndpool.conformance.targets.triton_kernels import make_target

    return make_target()


@pytest.fixture(scope="module")
def pooling(ndpool_target):
    """The entry points, imported after the target turned the interpreter on."""
    from ndpool.impl.triton import pooling

    return pooling


def test_the_registry_is_empty():
    """The kernels conform: nothing is forgiven."""
    from ndpool.conformance.deviations import Registry

    registry = Registry.load("triton", DEVIATIONS_DIR / "triton.toml", required=True)
    assert registry.entries == [], [e.id for e in registry.entries]


def test_the_kernels_run_under_the_interpreter(pooling):
    assert pooling.interpreted(), "the target did not turn Triton's interpreter on"


@pytest.mark.parametrize("op", OPS)
def test_entry_points_take_the_impl_keywords(pooling, op):
    from ndpool import impl

    def shape(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert shape(pooling.OPS[op]) == shape(impl.OPS[op]), f"{op}: signature differs from impl's"


def test_the_docstring_example_runs(pooling):
    import doctest

    result = doctest.testmod(pooling, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted and result.failed == 0, result


def test_gradcheck_through_the_entry_points(pooling):
    """Reverse and forward mode of every entry point on tiny float64 cases (unbatched,
    per-channel parameters, padding and ceil_mode), against finite differences."""
    import torch

    gen = torch.Generator().manual_seed(SEED)
    x = torch.rand((2, 5, 4), generator=gen, dtype=torch.float64) + 0.25
    x = x.requires_grad_()
    p = torch.tensor([1.5, 3.0], dtype=torch.float64, requires_grad=True)
    cfg = dict(kernel_size=(2, 3), stride=(2, 1), padding=1, ceil_mode=True)
    check = dict(check_forward_ad=True, check_undefined_grad=False, fast_mode=True)
    calls = {
        "max_pool": (lambda x: pooling.max_pool(x, **cfg), (x,)),
        "avg_pool": (lambda x: pooling.avg_pool(x, **cfg, count_include_pad=False), (x,)),
        "lp_pool": (lambda x, p: pooling.lp_pool(x, p, **cfg), (x, p)),
        "smooth_max_pool": (lambda x, b: pooling.smooth_max_pool(x, b, **cfg), (x, p)),
        "adaptive_max_pool": (lambda x: pooling.adaptive_max_pool(x, output_size=(3, 3)), (x,)),
        "adaptive_avg_pool": (lambda x: pooling.adaptive_avg_pool(x, output_size=(2, 3)), (x,)),
    }
    for op, (fn, args) in calls.items():
        assert torch.autograd.gradcheck(fn, args, **check), op


def test_a_derivative_of_a_derivative_is_refused(pooling):
    """The kernels' rules are not differentiable: nested torch.func transforms raise instead
    of differentiating the inner derivative to zero (the spec's second derivative of
    ``|x|^3`` is not zero)."""
    import torch

    x = torch.linspace(-2.0, 3.0, 12, dtype=torch.float64).reshape(1, 2, 6)

    def inner(x):
        return torch.func.grad(lambda x: pooling.lp_pool(x, 3.0, kernel_size=2).sum())(x)

    with pytest.raises(NotImplementedError, match="derivative of a derivative"):
        torch.func.grad(lambda x: inner(x).pow(2).sum())(x)
    with pytest.raises(NotImplementedError, match="derivative of a derivative"):
        torch.func.jvp(inner, (x,), (torch.ones_like(x),))


#: a small call of each op: positional parameters and keywords
ROUTED_CALLS = {
    "max_pool": ((), dict(kernel_size=(2,), stride=1, padding=1, return_indices=True)),
    "avg_pool": ((), dict(kernel_size=(3,), padding=1, ceil_mode=True)),
    "lp_pool": ((3.0,), dict(kernel_size=(2,))),
    "smooth_max_pool": ((4.0,), dict(kernel_size=(3,), stride=2)),
    "adaptive_max_pool": ((), dict(output_size=(3,), return_indices=True)),
    "adaptive_avg_pool": ((), dict(output_size=(3,))),
}


@pytest.mark.parametrize("op", OPS)
def test_impl_sends_the_tensors_the_kernels_take_to_them(pooling, monkeypatch, op):
    """ndpool.impl's op runs the Triton entry point exactly when ``applies`` says so (on a
    GPU: a CUDA tensor; here it is made to say so for a CPU tensor, which the interpreter
    runs), and the result is the spec's."""
    import torch

    from ndpool import impl, spec
    from ndpool.impl import triton as tk

    x = torch.tensor(
        [[[1.0, 5.0, 5.0, 2.0, 7.0, -1.0, 0.5]], [[3.0, 3.0, -2.0, 8.0, 1.0, 1.0, 2.0]]]
    )
    args, kw = ROUTED_CALLS[op]
    routed = []
    kernel = getattr(pooling, op)
    monkeypatch.setattr(pooling, op, lambda x, *a, **k: routed.append(x) or kernel(x, *a, **k))
    monkeypatch.setattr(tk, "applies", lambda t: True)
    got = getattr(impl, op)(x, *args, **kw)
    assert len(routed) == 1 and routed[0] is x, f"impl.{op} did not run the kernels"
    want = spec.OPS[op].function(x.numpy().astype(np.float64), *args, **kw)
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w, rtol=2**-20, atol=0)
    monkeypatch.setattr(tk, "applies", lambda t: False)
    getattr(impl, op)(x, *args, **kw)
    assert len(routed) == 1, f"impl.{op} ran the kernels where applies() is false"


def test_the_dispatch_condition_keeps_the_unsupported_contexts_out():
    """``applies`` (what ndpool.impl asks before routing a tensor to the kernels) is false
    for CPU tensors, and ``supported_context`` holds eagerly, under vmap levels (the
    kernels' vmap rule folds them into the channel axis: vmap, jacrev, jacfwd, per-sample
    gradients) and one derivative transform, not under nested derivative transforms
    (hessian) or torch.compile tracing."""
    import torch

    from ndpool.impl import triton as tk

    ones = torch.ones(2, 3)

    def seen(x):
        """``x`` times 1 where the context is supported, times 0 where it is not."""
        return x * float(tk.supported_context())

    def nested(y):
        return torch.func.grad(lambda x: seen(x**2).sum())(y).sum()

    assert not tk.applies(ones)
    assert tk.supported_context()
    assert torch.func.vmap(seen)(ones).eq(1).all()
    assert torch.func.vmap(torch.func.vmap(seen))(ones).eq(1).all()
    assert torch.func.grad(lambda x: seen(x).sum())(ones[0]).eq(1).all()
    assert torch.func.jacfwd(seen)(ones[0]).eq(torch.eye(3)).all()
    assert torch.func.vmap(torch.func.grad(lambda x: seen(x).sum()))(ones).eq(1).all()
    assert torch.func.grad(nested)(ones[0]).eq(0).all()
    assert torch.func.hessian(lambda x: seen(x).pow(2).sum())(ones[0]).eq(0).all()
    assert torch.compile(seen, backend="eager")(ones).eq(0).all()


def test_a_cpu_tensor_needs_the_interpreter(tmp_path):
    """Kernels imported compiled (no ``TRITON_INTERPRET``) refuse CPU tensors, and the
    target refuses to load on CPU, each with a message that says what to do."""
    script = textwrap.dedent(
        """
        import torch
        from ndpool.impl.triton import pooling
        from ndpool.conformance.targets.triton_kernels import make_target
        assert not pooling.interpreted()
        for attempt in (
            lambda: pooling.max_pool(torch.zeros(1, 1, 4), kernel_size=2),
            lambda: make_target(),
        ):
            try:
                attempt()
            except RuntimeError as exc:
                print("refused:", exc)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    refusals = [line for line in proc.stdout.splitlines() if line.startswith("refused:")]
    assert len(refusals) == 2, proc.stdout
    assert all("TRITON_INTERPRET=1" in line for line in refusals), refusals


# -- deliberately broken variants: the suite must reject each -----------------------------------
def _batched(x, cfg, adaptive=False):
    from ndpool.impl.inputs import adaptive_input, sliding_input

    if adaptive:
        return adaptive_input(x, cfg["output_size"])
    return sliding_input(x, {k: v for k, v in cfg.items() if k != "return_indices"})


def _ties_to_last(pooling):
    """max_pool whose winner among equal cells is the last in window order, not the first
    (and the last of several NaNs): the kernel runs on each cell's rank in a stable
    ascending sort of its plane, where a later cell of equal value ranks higher."""
    import torch

    def max_pool(x, *, return_indices=False, **cfg):
        plan, xb = _batched(x, cfg)
        flat = xb.detach().flatten(2)
        order = torch.sort(flat, dim=-1, stable=True).indices
        rank = torch.empty_like(order).scatter_(
            -1, order, torch.arange(flat.shape[-1]).expand_as(order).contiguous()
        )
        _, index = pooling.max_pool(rank.to(torch.float64).view_as(xb), **cfg, return_indices=True)
        taken = xb.flatten(2).gather(-1, index.clamp(min=0).flatten(2)).view_as(index)
        y = torch.where(index >= 0, taken, float("-inf"))
        if not plan.batched:
            y, index = y.squeeze(0), index.squeeze(0)
        return (y, index) if return_indices else y

    return max_pool


def _overhang_in_divisor(pooling):
    """avg_pool that divides by the whole kernel with ``count_include_pad``: a ceil_mode
    window's overhang beyond the padding is counted."""

    def avg_pool(x, *, count_include_pad=True, divisor_override=None, **cfg):
        if count_include_pad and divisor_override is None:
            plan, _ = _batched(x, cfg)
            divisor_override = plan.window_size
        return pooling.avg_pool(
            x, count_include_pad=count_include_pad, divisor_override=divisor_override, **cfg
        )

    return avg_pool


def _nan_ignored(pooling):
    """max_pool that skips NaN cells (as ``tl.max`` does) instead of propagating them."""
    import torch

    def max_pool(x, **cfg):
        return pooling.max_pool(torch.nan_to_num(x, nan=float("-inf")), **cfg)

    return max_pool


BROKEN = {
    "ties-to-last": ("max_pool", _ties_to_last, ("indices", "vjp", "jvp")),
    "overhang-in-divisor": ("avg_pool", _overhang_in_divisor, ("forward", "vjp")),
    "nan-ignored": ("max_pool", _nan_ignored, ("forward", "indices")),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_variant_is_rejected(pooling, name):
    from ndpool.conformance.targets.torch_callables import TorchTarget
    from ndpool.conformance.targets.triton_kernels import CAPABILITIES

    op, make, props = BROKEN[name]
    target = TorchTarget({**pooling.OPS, op: make(pooling)}, f"triton-{name}", CAPABILITIES)
    ctx = CheckContext(target, profile="quick", seed=SEED, shrink=False)
    outcomes = [ctx.run(op, prop) for prop in props]
    failed = [o for o in outcomes if o.status == "fail"]
    assert failed, f"{name}: the suite passed it: {[(o.prop, o.status) for o in outcomes]}"
    assert "configuration:" in failed[0].message, failed[0].message


def test_the_broken_variants_agree_with_the_kernels_elsewhere(pooling):
    """Each variant differs from the spec only where it is broken: on distinct finite
    values and full windows it computes the spec's values."""
    import torch

    from ndpool import spec

    x = torch.arange(2 * 3 * 8, dtype=torch.float64).reshape(2, 3, 8).sin()
    cfg = dict(kernel_size=(2,), stride=2)
    for name, (op, make, _) in BROKEN.items():
        got = make(pooling)(x, **cfg)
        want = getattr(spec, op)(x.numpy(), **cfg)
        np.testing.assert_array_equal(got.numpy(), want, err_msg=name)
