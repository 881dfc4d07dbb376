"""The Triton kernels of ndpool.impl.triton against the spec, run by Triton's CPU interpreter.

Every launcher is compared with the spec (``spec.max_pool`` ... for values, ``spec.vjp`` and
``spec.jvp`` for derivatives) on d = 1..4, every padding situation, special values and the
four dtypes. Max values, indices, max derivatives, and float64 average VJPs compare bit for
bit; the rounding ops compare within an error bound derived for each op (the ``_*bound*``
helpers state the derivations).
"""

from __future__ import annotations

import os

os.environ["TRITON_INTERPRET"] = "1"  # before the kernels are defined (import below)

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

pytest.importorskip("triton")

from ndpool import spec
from ndpool.impl import triton as tk
from ndpool.impl.triton import functions
from ndpool.impl.triton.geometry import _largest_bin

# the interpreter evaluates both arms of every tl.where with NumPy (log of 0, inf - inf)
pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]

DTYPES = (torch.float64, torch.float32, torch.float16, torch.bfloat16)
#: unit roundoff of each dtype, and of the dtype the kernels compute in
UNIT = {
    torch.float64: 2.0**-53,
    torch.float32: 2.0**-24,
    torch.float16: 2.0**-11,
    torch.bfloat16: 2.0**-8,
}


def compute_unit(dtype: torch.dtype) -> float:
    return UNIT[torch.float64] if dtype == torch.float64 else UNIT[torch.float32]


# -- configurations -------------------------------------------------------------------------
@dataclass(frozen=True)
class Sliding:
    """A sliding-window configuration; ``shape`` is ``[N, C, *S]``."""

    name: str
    shape: tuple
    kernel: tuple
    stride: tuple
    pads: tuple
    dilation: tuple
    ceil_mode: bool = False

    @property
    def cfg(self) -> dict:
        return dict(
            kernel_size=self.kernel,
            stride=self.stride,
            padding=self.pads,
            dilation=self.dilation,
            ceil_mode=self.ceil_mode,
        )

    @property
    def axes(self) -> tk.Axes:
        return tk.sliding_axes(
            self.shape[2:], self.kernel, self.stride, self.dilation, self.pads, spec_out(self)
        )


@dataclass(frozen=True)
class Adaptive:
    name: str
    shape: tuple
    output_size: tuple

    @property
    def cfg(self) -> dict:
        return dict(output_size=self.output_size)

    @property
    def axes(self) -> tk.Axes:
        return tk.adaptive_axes(self.shape[2:], self.output_size)


def spec_out(case: Sliding) -> tuple:
    """The output extents as the spec computes them (the launchers take them resolved)."""
    return spec.output_shape("max_pool", case.shape, **case.cfg)[2:]


SLIDING = [
    Sliding("d1-unpadded", (4, 2, 7), (3,), (2,), ((0, 0),), (1,)),
    Sliding("d1-symmetric", (4, 3, 6), (3,), (1,), ((1, 1),), (1,)),
    # kernel 2, dilation 3, padding 2: window 1 reads taps -1 and 2 of an extent of 2
    Sliding("d1-empty-window", (4, 2, 2), (2,), (1,), ((2, 2),), (3,)),
    Sliding("d2-asymmetric", (4, 2, 5, 6), (3, 2), (2, 1), ((1, 0), (0, 1)), (1, 1)),
    Sliding("d2-dilated-ceil", (4, 2, 5, 4), (3, 3), (2, 2), ((2, 1), (1, 1)), (2, 1), True),
    Sliding(
        "d3-ceil-overhang",
        (4, 1, 5, 4, 3),
        (2, 3, 2),
        (2, 2, 2),
        ((0, 0), (1, 1), (0, 1)),
        (1, 1, 1),
        True,
    ),
    Sliding(
        "d4-mixed",
        (4, 1, 3, 4, 2, 3),
        (2, 2, 1, 2),
        (1, 2, 1, 2),
        ((1, 0), (0, 1), (0, 0), (1, 1)),
        (1, 1, 1, 1),
        True,
    ),
]
ADAPTIVE = [
    Adaptive("a1", (4, 2, 5), (3,)),
    Adaptive("a2-upsample", (4, 1, 2, 3), (3, 5)),
    Adaptive("a3", (4, 1, 3, 5, 4), (2, 3, 3)),
    Adaptive("a4", (4, 1, 3, 2, 4, 3), (2, 2, 3, 2)),
]
ALL = SLIDING + ADAPTIVE


def ids(cases):
    return [c.name for c in cases]


# -- data -----------------------------------------------------------------------------------
def make_x(shape, dtype, seed, kinds=("ties", "special", "neg_inf", "all_nan")):
    """Sample ``n`` of the batch is of kind ``kinds[n % len(kinds)]``: ``ties`` (small
    integers, zeros of both signs), ``special`` (normals with NaN, +-inf and signed zeros),
    ``neg_inf`` (mostly -inf), ``all_nan``, ``normal`` (finite), ``scale`` (the dtype's
    largest and subnormal magnitudes), ``positive`` / ``negative`` (finite, away from 0)."""
    rng = np.random.default_rng(seed)
    info = torch.finfo(dtype)
    out = np.empty(shape, dtype=np.float64)
    for n in range(shape[0]):
        kind, size = kinds[n % len(kinds)], shape[1:]
        if kind == "ties":
            v = rng.integers(-2, 3, size).astype(np.float64)
            v[(v == 0) & (rng.random(size) < 0.5)] = -0.0
        elif kind in ("special", "normal", "positive", "negative"):
            v = rng.standard_normal(size)
            if kind in ("positive", "negative"):
                v = (np.abs(v) + 0.25) * (1 if kind == "positive" else -1)
            if kind == "special":
                u = rng.random(size)
                v[u < 0.08] = np.nan
                v[(u >= 0.08) & (u < 0.16)] = np.inf
                v[(u >= 0.16) & (u < 0.24)] = -np.inf
                v[(u >= 0.24) & (u < 0.30)] = -0.0
                v[(u >= 0.30) & (u < 0.36)] = 0.0
        elif kind == "neg_inf":
            v = np.full(size, -np.inf)
            u = rng.random(size)
            v[u < 0.1] = rng.standard_normal(size)[u < 0.1]
        elif kind == "all_nan":
            v = np.full(size, np.nan)
        elif kind == "scale":
            big = info.max * rng.uniform(0.25, 1.0, size)
            small = info.smallest_normal * info.eps * rng.integers(1, 8, size)
            if dtype == torch.bfloat16:
                # the interpreter converts bfloat16 by bit manipulation that mishandles
                # subnormals (a GPU does not), so bfloat16 takes the smallest normals
                small = info.smallest_normal * rng.integers(1, 8, size)
            v = np.where(rng.random(size) < 0.5, big, small) * rng.choice([-1, 1], size)
        else:
            raise ValueError(kind)
        out[n] = v
    return torch.from_numpy(out).to(dtype)


def spec_np(t: torch.Tensor) -> np.ndarray:
    """What the spec takes: the tensor's values as NumPy (bfloat16 through float32)."""
    t = t.detach()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


def as64(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().to(torch.float64).numpy()
    return np.asarray(a, dtype=np.float64)


def out_floor(dtype) -> float:
    """Rounding of an output to ``dtype``, relative part and the subnormal spacing."""
    info = torch.finfo(dtype)
    return info.smallest_normal * info.eps


# -- assertions -----------------------------------------------------------------------------
def assert_exact(got, expected, what: str):
    """Bit for bit: NaN where expected NaN, equal values with equal signs (zeros too)."""
    g, e = as64(got), as64(expected)
    assert g.shape == e.shape, f"{what}: shape {g.shape}, expected {e.shape}"
    nan = np.isnan(e)
    assert np.array_equal(np.isnan(g), nan), f"{what}: NaN at {np.argwhere(np.isnan(g) != nan)}"
    bad = ~nan & ((g != e) | (np.signbit(g) != np.signbit(e)))
    where = np.argwhere(bad)[:5].tolist()
    assert not bad.any(), f"{what}: at {where} got {g[bad][:5]}, expected {e[bad][:5]}"


def assert_within(got, expected, bound, what: str):
    """Non-finite values identical (NaN, +inf, -inf), finite ones within ``bound``."""
    g, e = as64(got), as64(expected)
    bound = np.broadcast_to(as64(bound), e.shape)
    assert g.shape == e.shape, f"{what}: shape {g.shape}, expected {e.shape}"
    finite = np.isfinite(e)
    same = np.where(np.isnan(e), np.isnan(g), g == e)
    bad = ~finite & ~same
    where = np.argwhere(bad)[:5].tolist()
    assert not bad.any(), f"{what}: non-finite at {where}: got {g[bad][:5]}, expected {e[bad][:5]}"
    with np.errstate(invalid="ignore"):
        err = np.where(finite, np.abs(g - e), 0.0)
    over = finite & ~(err <= bound)
    where = np.argwhere(over)[:5].tolist()
    assert not over.any(), (
        f"{what}: at {where} got {g[over][:5]}, expected {e[over][:5]}, bound {bound[over][:5]}"
    )


def rounding_bound(expected, dtype, compute_error):
    """``compute_error`` (the kernel's error before its final rounding) plus both roundings
    to ``dtype``: the spec rounds its float64 value once (``u``), the kernel its own (``u``;
    ``2u`` for bfloat16, which the interpreter truncates where a GPU rounds to nearest)."""
    e = np.abs(np.nan_to_num(as64(expected), nan=0.0, posinf=0.0, neginf=0.0))
    # a NaN error term comes from 0 * inf or 0 / 0 in a bound of an exact zero
    compute_error = np.nan_to_num(compute_error, nan=0.0, posinf=np.inf)
    roundings = 3 if dtype == torch.bfloat16 else 2
    return compute_error + roundings * UNIT[dtype] * e + out_floor(dtype)


# -- geometry -------------------------------------------------------------------------------
def test_the_kernels_run_under_the_interpreter():
    """The kernels were defined with ``TRITON_INTERPRET=1`` (their module was first imported
    by this file; importing it earlier would give GPU-only kernels)."""
    from triton.runtime.interpreter import InterpretedFunction

    from ndpool.impl.triton import kernels

    assert isinstance(kernels.max_forward_kernel, InterpretedFunction)
    assert isinstance(kernels._window_tap, InterpretedFunction)


def test_largest_bin_matches_brute_force():
    for length in range(1, 30):
        for n in range(1, 30):
            sizes = [-(-(i + 1) * length // n) - (i * length) // n for i in range(n)]
            covering = [
                sum((o * length) // n <= i < -(-(o + 1) * length // n) for o in range(n))
                for i in range(length)
            ]
            assert _largest_bin(length, n) == max(sizes), (length, n)
            assert _largest_bin(n, length) == max(covering), (length, n)


def test_the_cases_cover_every_padding_situation():
    """The premises of the sliding cases, read off the spec's geometry: no padding, symmetric
    and asymmetric padding, windows with no real cell, ceil_mode windows that overhang the
    padded extent, d = 1..4."""
    geometries = {c.name: spec.sliding_geometry(c.shape[2:], **c.cfg) for c in SLIDING}
    assert {len(c.kernel) for c in SLIDING} == {1, 2, 3, 4}
    assert all(p == (0, 0) for p in SLIDING[0].pads)
    assert any(p[0] != p[1] for c in SLIDING for p in c.pads)
    empty = [n for n, g in geometries.items() if not g.real.any(axis=-1).all()]
    overhang = [n for n, g in geometries.items() if (g.in_extent.sum(-1) < g.window_size).any()]
    assert empty == ["d1-empty-window"]
    assert "d3-ceil-overhang" in overhang


@pytest.mark.parametrize("case", SLIDING, ids=ids(SLIDING))
def test_sliding_axes_hold_the_resolved_geometry(case):
    a = case.axes
    assert a.d == len(case.kernel) and not a.adaptive
    assert a.pad_begin == tuple(p[0] for p in case.pads)
    assert a.pad_end == tuple(p[1] for p in case.pads)
    assert a.window_size == math.prod(case.kernel) and a.candidates == case.kernel


# -- max --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case", ALL, ids=ids(ALL))
def test_max_values_and_indices_are_the_specs_bit_for_bit(case, dtype):
    """NaN (first one wins), ties (first maximizer), signed zeros (first zero keeps its
    sign), -inf windows, windows with no real cell (-inf, -1): value and index exact."""
    x = make_x(case.shape, dtype, seed=1)
    y, index = tk.max_forward(x, case.axes)
    fn = spec.adaptive_max_pool if isinstance(case, Adaptive) else spec.max_pool
    ey, eindex = fn(spec_np(x), return_indices=True, **case.cfg)
    assert y.dtype == dtype and index.dtype == torch.int64
    assert_exact(y, ey, f"max {case.name} {dtype}")
    assert np.array_equal(index.numpy(), eindex), f"max index {case.name} {dtype}"


@pytest.mark.parametrize("dtype", (torch.float64, torch.float32, torch.bfloat16), ids=str)
@pytest.mark.parametrize("case", ALL, ids=ids(ALL))
def test_max_derivatives_follow_the_selected_cell(case, dtype):
    """VJP: the gather sums the cotangents of the windows that selected a cell, in the
    order of the output positions, as the spec's scatter adds them: bit for bit in
    float64; in float32 within one rounding per window summed. JVP: exact."""
    op = "adaptive_max_pool" if isinstance(case, Adaptive) else "max_pool"
    x = make_x(case.shape, dtype, seed=2)
    _, index = tk.max_forward(x, case.axes)
    y_bar = make_x(index.shape, dtype, seed=3, kinds=("normal",))
    x_bar = tk.max_backward(y_bar, index, case.axes)
    (ex_bar,) = spec.vjp(op, (spec_np(x),), spec_np(y_bar), **case.cfg)
    if dtype == torch.float64:
        assert_exact(x_bar, ex_bar, f"max vjp {case.name}")
    else:
        (abs_bar,) = spec.vjp(op, (spec_np(x),), np.abs(spec_np(y_bar)), **case.cfg)
        r = math.prod(case.axes.candidates)
        err = (r + 1) * compute_unit(dtype) * np.abs(as64(abs_bar))
        assert_within(x_bar, ex_bar, rounding_bound(ex_bar, dtype, err), f"max vjp {case.name}")
    x_dot = make_x(case.shape, dtype, seed=4, kinds=("special",))
    _, ey_dot = spec.jvp(op, (spec_np(x),), (spec_np(x_dot),), **case.cfg)
    assert_exact(tk.max_jvp(x_dot, index), ey_dot, f"max jvp {case.name} {dtype}")


# -- average ----------------------------------------------------------------------------------
AVG_OPTIONS = [(True, None), (False, None), (False, -3)]


def _avg_bound(case, x, expected, dtype, options):
    """The sum of ``K`` cells rounds at most ``K`` times and the division once:
    ``(K + 2) u`` times the average of ``|x|`` (the spec's own average of ``|x|``)."""
    kw = dict(case.cfg, **options)
    op = spec.adaptive_avg_pool if isinstance(case, Adaptive) else spec.avg_pool
    abs_avg = np.abs(as64(op(np.abs(np.nan_to_num(spec_np(x))), **kw)))
    k = case.axes.window_size
    return rounding_bound(expected, dtype, (k + 2) * compute_unit(dtype) * abs_avg)


def _avg_kw(case, count_include_pad, divisor_override):
    if isinstance(case, Adaptive):
        return {}
    return dict(count_include_pad=count_include_pad, divisor_override=divisor_override)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case", ALL, ids=ids(ALL))
def test_avg_value_and_derivatives_match_the_spec(case, dtype):
    """Every divisor rule (cells inside the padded extent without the ceil overhang, real
    cells with 0/0 = NaN for a window with no real cell, an override), the VJP (bit for bit
    in float64: the same weights added in the same order) and the JVP (0 for a window with
    a zero divisor)."""
    adaptive = isinstance(case, Adaptive)
    op = "adaptive_avg_pool" if adaptive else "avg_pool"
    # "scale" sums overflow in every dtype; its bfloat16 averages can be subnormal, which the
    # interpreter's bfloat16 conversion mishandles (see make_x), so bfloat16 takes "normal"
    last = "normal" if dtype == torch.bfloat16 else "scale"
    x = make_x(case.shape, dtype, seed=5, kinds=("normal", "special", "ties", last))
    rule_set = AVG_OPTIONS if dtype == torch.float64 and not adaptive else AVG_OPTIONS[::2]
    if adaptive or dtype in (torch.float16, torch.bfloat16):
        rule_set = AVG_OPTIONS[:1]
    for rule in rule_set:
        kw = _avg_kw(case, *rule)
        what = f"avg {case.name} {dtype} {kw}"
        fwd = tk.adaptive_avg_forward if adaptive else tk.avg_forward
        y = fwd(x, case.axes, **kw)
        ey = getattr(spec, op)(spec_np(x), **case.cfg, **kw)
        assert_within(y, ey, _avg_bound(case, x, ey, dtype, kw), what)
        y_bar = make_x(y.shape, dtype, seed=6, kinds=("normal",))
        bwd = tk.adaptive_avg_backward if adaptive else tk.avg_backward
        x_bar = bwd(y_bar, case.axes, **kw)
        (ex_bar,) = spec.vjp(op, (spec_np(x),), spec_np(y_bar), **case.cfg, **kw)
        if dtype == torch.float64:
            assert_exact(x_bar, ex_bar, what + " vjp")
        else:
            (abs_bar,) = spec.vjp(op, (spec_np(x),), np.abs(spec_np(y_bar)), **case.cfg, **kw)
            r = math.prod(case.axes.candidates)
            err = (r + 2) * compute_unit(dtype) * np.abs(as64(abs_bar))
            assert_within(x_bar, ex_bar, rounding_bound(ex_bar, dtype, err), what + " vjp")
        x_dot = make_x(case.shape, dtype, seed=7, kinds=("normal",))
        jvp = tk.adaptive_avg_jvp if adaptive else tk.avg_jvp
        y_dot = jvp(x_dot, case.axes, **kw)
        _, ey_dot = spec.jvp(op, (spec_np(x),), (spec_np(x_dot),), **case.cfg, **kw)
        assert_within(y_dot, ey_dot, _avg_bound(case, x_dot, ey_dot, dtype, kw), what + " jvp")


def test_avg_jvp_of_an_empty_window_is_zero_or_nan_by_option():
    case = SLIDING[2]  # window 1 has no real cell
    x_dot = torch.ones(case.shape, dtype=torch.float64)
    kw = dict(count_include_pad=False, divisor_override=None)
    zero = tk.avg_jvp(x_dot, case.axes, **kw)
    nan = tk.avg_jvp(x_dot, case.axes, **kw, empty_window_derivative="nan")
    assert (zero[..., 1] == 0).all() and torch.isnan(nan[..., 1]).all()
    assert torch.isnan(tk.avg_forward(x_dot, case.axes, **kw)[..., 1]).all()
    assert torch.equal(zero[..., ::2], nan[..., ::2])


# -- Lp -----------------------------------------------------------------------------------------
#: (p, sign, partial_window); p may be one value per channel (C = 2 or 3 below)
LP_CONFIGS = [
    (2.0, "abs", "sum"),
    (1.0, "signed", "rescaled"),
    (3.0, "signed", "sum"),
    (0.5, "abs", "rescaled"),
    (1.5, "signed", "sum"),
    (math.inf, "abs", "sum"),
    ("per-channel", "abs", "rescaled"),
    (7.25, "abs", "sum"),
]
PER_CHANNEL = [2.5, math.inf, 1.0]


def _p_of(p, channels):
    return np.array(PER_CHANNEL[:channels]) if p == "per-channel" else np.array(p)


def _channel(p, shape):
    """``p`` broadcast over an output of ``shape`` ``[N, C, *O]``."""
    p = np.asarray(p, dtype=np.float64)
    return p.reshape((1, -1) + (1,) * (len(shape) - 2)) if p.ndim else p


def _lp_units(p, k):
    """Roundings of Lp in units of the compute dtype, before the final rounding: each
    ``r^p = exp2(p log2 r)`` is off by about ``1 + p |log2 r|`` units where it matters
    (``r`` near the window max), the sum of ``K`` of them by ``K``, the root divides by
    ``p`` (so a small p magnifies), and the scaling is exact: ``(K + 4 + 2p) / min(p, 1)
    + 8``. ``p = inf`` selects (0)."""
    pf = np.where(np.isinf(p), 1.0, p)
    return np.where(np.isinf(p), 0.0, (k + 4 + 2 * pf) / np.minimum(pf, 1.0) + 8)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("config", range(len(LP_CONFIGS)), ids=lambda i: str(LP_CONFIGS[i]))
def test_lp_values_match_the_spec(config, dtype):
    """Every padding case for one configuration: zero windows, infinite and NaN windows,
    signed odd p (negative sums), negative cells under a non-integer p (NaN), p = inf
    (bit for bit: max |x| with the winner rule) and the dtype's extreme magnitudes
    (no overflow or underflow of the scaled sum)."""
    p, sign, partial = LP_CONFIGS[config]
    cases = SLIDING[config % 2 :: 2] if dtype == torch.float64 else SLIDING[config % 3 :: 3]
    for case in cases:
        pv = _p_of(p, case.shape[1])
        kinds = ("normal", "special", "ties", "scale")
        x = make_x(case.shape, dtype, seed=8 + config, kinds=kinds)
        kw = dict(sign=sign, partial_window=partial)
        y = tk.lp_forward(x, torch.from_numpy(pv), case.axes, **kw)
        ey = spec.lp_pool(spec_np(x), pv, **case.cfg, **kw)
        what = f"lp {case.name} {dtype} p={p} {kw}"
        if p == math.inf:
            assert_exact(y, ey, what)
        else:
            assert_within(y, ey, _lp_value_bound(case, x, pv, sign, partial, ey, dtype), what)


def _lp_scales(case, x, p, sign, partial, expected, dtype):
    """``(u_op, y_abs, ratio)`` per output: the op's roundings (``_lp_units`` times the
    compute dtype's unit roundoff), the Lp of ``|x|`` over the finite cells, and
    ``ratio = y_abs / |y|`` (>= 1; inf for y = 0), by which a cancelling signed power sum
    magnifies relative errors: ``T = y^p`` has the error ``u_op * y_abs^p``, a relative
    ``u_op * ratio^p`` (1 for ``sign="abs"``)."""
    finite = np.abs(np.nan_to_num(spec_np(x), posinf=0, neginf=0))
    y_abs = as64(spec.lp_pool(finite, p, **case.cfg, partial_window=partial))
    pc = _channel(p, y_abs.shape)
    u_op = _lp_units(pc, case.axes.window_size) * compute_unit(dtype)
    ratio = np.ones_like(y_abs)
    if sign == "signed":
        with np.errstate(divide="ignore", invalid="ignore"):
            e = np.abs(np.nan_to_num(as64(expected), nan=0.0))
            ratio = np.where(y_abs > 0, np.maximum(y_abs / e, 1.0), 1.0)
    return u_op, y_abs, ratio


def _lp_value_bound(case, x, p, sign, partial, expected, dtype):
    """``u_op * y_abs``; signed, the sum's error passes into ``y = T^(1/p)`` as
    ``u_op * y_abs * ratio^(p-1) / p`` (the ``1/p`` is already in ``u_op``)."""
    u_op, y_abs, ratio = _lp_scales(case, x, p, sign, partial, expected, dtype)
    pc = np.where(np.isinf(_channel(p, y_abs.shape)), 1.0, _channel(p, y_abs.shape))
    with np.errstate(invalid="ignore", over="ignore"):
        err = u_op * y_abs * ratio ** (pc - 1)
    return rounding_bound(expected, dtype, err)


def _sum_pool_vjp(case, a):
    """``sum`` over the windows containing each cell of ``a`` (the VJP of sum pooling)."""
    return as64(spec.vjp("avg_pool", (np.zeros(case.shape),), a, **case.cfg, divisor_override=1)[0])


def _sum_pool(case, a):
    return as64(spec.avg_pool(a, **case.cfg, divisor_override=1))


def _lp_derivative_bounds(case, x, pv, sign, partial, dtype, y_bar, x_dot, p_dot):
    """Bounds of ``(x_bar, p_bar, y_dot)``. A partial ``rho s (r/norm)^(p-1)`` inherits
    the relative error of ``y`` times ``|p - 1|`` plus its own power's (``u_op`` each, see
    ``_lp_scales``; a signed sum magnifies by ``ratio^p``); ``dy/dp = (y/p) (sum_i q_i log
    r_i - log(rho T)/p)`` is a difference of terms of size ``1 + (1 + log K)/p`` each with
    relative error ``u_op``. The partials of ``|x|`` (abs sign) and of sum pooling (the
    ``p = 1`` partials, ``rho <= K``) bound the magnitudes that are summed."""
    ey = spec.lp_pool(spec_np(x), pv, **case.cfg, sign=sign, partial_window=partial)
    u_op, y_abs, ratio = _lp_scales(case, x, pv, sign, partial, ey, dtype)
    pc = _channel(pv, y_abs.shape)
    pf = np.where(np.isinf(pc), 2.0, pc)
    k = case.axes.window_size
    with np.errstate(invalid="ignore", over="ignore"):
        rel = u_op * (1 + np.abs(pf - 1)) * ratio**pf
        dp = u_op * ratio**pf * y_abs / pf * (2 + (1 + math.log(k)) / pf)
    rel_max = np.nan_to_num(rel, nan=0.0).max() if rel.size else 0.0
    finite = np.abs(np.nan_to_num(spec_np(x), posinf=0, neginf=0))
    kw = dict(case.cfg, partial_window=partial)
    (g_abs, _) = spec.vjp("lp_pool", (finite, pv), np.abs(spec_np(y_bar)), **kw)
    g_one = k * _sum_pool_vjp(case, np.abs(spec_np(y_bar)))
    x_bar = rel_max * (np.abs(as64(g_abs)) + g_one)
    p_bar = np.nan_to_num(dp * np.abs(as64(y_bar)), nan=0.0)
    p_bar = p_bar.sum(axis=tuple(i for i in range(p_bar.ndim) if not (pv.ndim and i == 1)))
    _, j_abs = spec.jvp("lp_pool", (finite, pv), (np.abs(spec_np(x_dot)), np.zeros_like(pv)), **kw)
    j_one = k * _sum_pool(case, np.abs(spec_np(x_dot)))
    y_dot = rel * (np.abs(as64(j_abs)) + j_one) + dp * abs(p_dot)
    return x_bar, p_bar, y_dot


LP_DERIVATIVE_PAIRS = [
    (config, case) for config in range(len(LP_CONFIGS)) for case in (config % 7, (config + 3) % 7)
]


@pytest.mark.parametrize("dtype", (torch.float64, torch.float32), ids=str)
@pytest.mark.parametrize(
    "config,case_index",
    LP_DERIVATIVE_PAIRS,
    ids=[f"{LP_CONFIGS[c]}-{SLIDING[i].name}" for c, i in LP_DERIVATIVE_PAIRS],
)
def test_lp_derivatives_match_the_spec(config, case_index, dtype):
    """VJP (x and p) and JVP (x and p tangents) with the spec's rules: zero cells and zero
    windows 0, p = 1 exactly rho * sign, infinite windows 0, NaN windows NaN at non-zero
    cells, p = inf the sign at the winner."""
    p, sign, partial = LP_CONFIGS[config]
    case = SLIDING[case_index]
    pv = _p_of(p, case.shape[1])
    kinds = ("positive", "special", "ties", "normal" if sign == "abs" else "negative")
    x = make_x(case.shape, dtype, seed=20 + config, kinds=kinds)
    kw = dict(sign=sign, partial_window=partial)
    y_bar = make_x((case.shape[:2] + spec_out(case)), dtype, seed=21, kinds=("normal",))
    x_dot = make_x(case.shape, dtype, seed=22, kinds=("normal",))
    p_dot = 0.5
    pt = torch.from_numpy(pv)
    x_bar, p_bar = tk.lp_backward(y_bar, x, pt, case.axes, **kw)
    y, y_dot = tk.lp_jvp(x, pt, x_dot, p_dot, case.axes, **kw)
    primals = (spec_np(x), pv)
    ex_bar, ep_bar = spec.vjp("lp_pool", primals, spec_np(y_bar), **case.cfg, **kw)
    ey, ey_dot = spec.jvp(
        "lp_pool", primals, (spec_np(x_dot), np.full_like(pv, p_dot)), **case.cfg, **kw
    )
    b_x, b_p, b_dot = _lp_derivative_bounds(case, x, pv, sign, partial, dtype, y_bar, x_dot, p_dot)
    what = f"lp {case.name} {dtype} p={p} {kw}"
    assert p_bar.shape == pt.shape and p_bar.dtype == pt.dtype
    assert_within(x_bar, ex_bar, rounding_bound(ex_bar, dtype, b_x), what + " x_bar")
    assert_within(p_bar, ep_bar, rounding_bound(ep_bar, torch.float64, b_p), what + " p_bar")
    assert_within(y, ey, _lp_value_bound(case, x, pv, sign, partial, ey, dtype), what + " y")
    assert_within(y_dot, ey_dot, rounding_bound(ey_dot, dtype, b_dot), what + " y_dot")


# -- smooth max -----------------------------------------------------------------------------
SMOOTH_CONFIGS = [(1.5, "ignore"), (1.5, "zero"), ("per-channel", "zero"), (40.0, "ignore")]
BETAS = [0.5, 4.0, 1.0]


def _beta_of(beta, channels):
    return np.array(BETAS[:channels]) if beta == "per-channel" else np.array(beta)


def _smooth_bounds(case, x, beta, policy, dtype, y_bar, x_dot, beta_dot):
    """Bounds of ``(y, x_bar, beta_bar, y_dot)`` from ``S``, the window's max ``|x|``:
    ``y = m + log(sum_i e_i) / beta`` with ``e_i = exp(beta (x_i - m))``; each ``e_i`` is
    off by ``2 + beta |x_i - m|`` units, weighted by ``e_i`` (``z e^-z <= 1``), the sum of
    ``K`` terms in ``[1, K]`` by ``K``, so ``|dy| <= 4 u (|y| + (K + 4) / beta)``. A weight
    ``p_i = exp(beta (x_i - y))`` (``<= 1``) then errs by ``beta |dy| + 3u``, and ``dy/dbeta
    = (sum_i p_i x_i - y) / beta`` by ``((beta |dy| + (K + 3) u) K S + |dy|) / beta``."""
    u = compute_unit(dtype)
    k = case.axes.window_size
    ey = as64(spec.smooth_max_pool(spec_np(x), beta, **case.cfg, padding_policy=policy))
    b = _channel(beta, ey.shape)
    s = as64(spec.max_pool(np.abs(np.nan_to_num(spec_np(x), posinf=0, neginf=0)), **case.cfg))
    s = np.where(np.isfinite(s), s, 0.0)
    dy = 4 * u * (np.abs(np.nan_to_num(ey, nan=0.0, posinf=0.0, neginf=0.0)) + (k + 4) / b)
    dw = b * dy + 3 * u
    dbeta = ((b * dy + (k + 3) * u) * k * s + dy) / b
    x_bar = _sum_pool_vjp(case, np.abs(spec_np(y_bar)) * np.broadcast_to(dw, ey.shape))
    beta_bar = dbeta * np.abs(as64(y_bar))
    beta_bar = beta_bar.sum(axis=tuple(i for i in range(ey.ndim) if not (beta.ndim and i == 1)))
    y_dot = _sum_pool(case, np.abs(spec_np(x_dot))) * dw + dbeta * abs(beta_dot)
    return dy, x_bar, beta_bar, y_dot


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("config", range(len(SMOOTH_CONFIGS)), ids=lambda i: str(SMOOTH_CONFIGS[i]))
def test_smooth_max_value_and_derivatives_match_the_spec(config, dtype):
    """Value (stable shift by the window max; NaN propagates, +inf gives +inf, a window of
    -inf or with no cell taking part gives -inf), VJP in x and beta, JVP in x and beta;
    padded cells ignored or taking part as zeros."""
    beta, policy = SMOOTH_CONFIGS[config]
    wide = dtype in (torch.float64, torch.float32)
    cases = SLIDING[config % 2 :: 2] if wide else SLIDING[config::4]
    for case in cases:
        bv = _beta_of(beta, case.shape[1])
        bt = torch.from_numpy(bv)
        x = make_x(
            case.shape, dtype, seed=30 + config, kinds=("normal", "special", "ties", "neg_inf")
        )
        what = f"smooth max {case.name} {dtype} beta={beta} {policy}"
        y_bar = make_x(case.shape[:2] + spec_out(case), dtype, seed=31, kinds=("normal",))
        x_dot = make_x(case.shape, dtype, seed=32, kinds=("normal",))
        beta_dot = -0.75
        b_y, b_x, b_beta, b_dot = _smooth_bounds(case, x, bv, policy, dtype, y_bar, x_dot, beta_dot)
        kw = dict(padding_policy=policy)
        primals = (spec_np(x), bv)
        ey = spec.smooth_max_pool(*primals, **case.cfg, **kw)
        assert_within(
            tk.smooth_max_forward(x, bt, case.axes, **kw), ey, rounding_bound(ey, dtype, b_y), what
        )
        if dtype in (torch.float16, torch.bfloat16):
            continue
        x_bar, beta_bar = tk.smooth_max_backward(y_bar, x, bt, case.axes, **kw)
        ex_bar, eb_bar = spec.vjp("smooth_max_pool", primals, spec_np(y_bar), **case.cfg, **kw)
        assert beta_bar.shape == bt.shape and beta_bar.dtype == bt.dtype
        assert_within(x_bar, ex_bar, rounding_bound(ex_bar, dtype, b_x), what + " x_bar")
        assert_within(
            beta_bar, eb_bar, rounding_bound(eb_bar, torch.float64, b_beta), what + " beta_bar"
        )
        _, y_dot = tk.smooth_max_jvp(x, bt, x_dot, beta_dot, case.axes, **kw)
        tangents = (spec_np(x_dot), np.full_like(bv, beta_dot))
        _, ey_dot = spec.jvp("smooth_max_pool", primals, tangents, **case.cfg, **kw)
        assert_within(y_dot, ey_dot, rounding_bound(ey_dot, dtype, b_dot), what + " y_dot")


@pytest.mark.parametrize("dtype", (torch.float64, torch.float32), ids=str)
def test_smooth_max_derivatives_at_the_top_of_the_range(dtype):
    """A window ``[1, 0.75, 1] * top`` (``top`` half the dtype's largest value) at
    beta = 1/2: ``y`` rounds to the max, so ``y`` cannot hold ``log(2)/beta``; the weights
    are still 1/2, 0, 1/2 and ``dy/dbeta = -log(2)/beta^2`` (a weight formed as
    ``exp(beta (x - y))`` from the rounded ``y`` is 1, and ``sum p x`` overflows)."""
    top = torch.finfo(dtype).max / 2
    x = torch.tensor([[[1.0, 0.75, 1.0]]], dtype=torch.float64).mul(top).to(dtype)
    beta = torch.tensor(0.5, dtype=dtype)
    axes = tk.sliding_axes((3,), (3,), (1,), (1,), ((0, 0),), (1,))
    y_bar = torch.ones((1, 1, 1), dtype=dtype)
    x_bar, beta_bar = tk.smooth_max_backward(y_bar, x, beta, axes, padding_policy="ignore")
    np.testing.assert_allclose(x_bar.double().numpy(), [[[0.5, 0.0, 0.5]]], rtol=4 * UNIT[dtype])
    exact = -math.log(2) / 0.25
    np.testing.assert_allclose(beta_bar.double().item(), exact, rtol=1e-5)
    _, y_dot = tk.smooth_max_jvp(x, beta, torch.ones_like(x), 0.0, axes, padding_policy="ignore")
    np.testing.assert_allclose(y_dot.double().item(), 1.0, rtol=4 * UNIT[dtype])
    ex_bar, eb_bar = spec.vjp(
        "smooth_max_pool", (spec_np(x), 0.5), np.ones((1, 1, 1)), kernel_size=3,
        padding_policy="ignore",
    )  # fmt: skip
    np.testing.assert_allclose(ex_bar, [[[0.5, 0.0, 0.5]]], rtol=1e-15)
    np.testing.assert_allclose(eb_bar, exact, rtol=1e-12)


# -- autograd, determinism, empty batches ------------------------------------------------------
def _tiny(case_shape, seed=40):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.standard_normal(case_shape)).requires_grad_()


GRAD_CASES = [
    SLIDING[1],
    Sliding("g2", (1, 2, 4, 3), (2, 2), (1, 2), ((1, 0), (1, 1)), (1, 1), True),
    ADAPTIVE[1],
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=ids(GRAD_CASES))
def test_gradcheck_through_the_autograd_functions(case):
    """Reverse and forward mode of every wrapper against finite differences (float64)."""
    axes = case.axes
    x = _tiny((1, 2) + case.shape[2:])
    check = dict(check_forward_ad=True, check_undefined_grad=False, fast_mode=True)
    assert torch.autograd.gradcheck(lambda x: functions.max_pool(x, axes)[0], (x,), **check)
    assert torch.autograd.gradcheck(lambda x: functions.avg_pool(x, axes, False), (x,), **check)
    if isinstance(case, Adaptive):
        return
    p = torch.tensor([2.5, 1.5], dtype=torch.float64, requires_grad=True)
    beta = torch.tensor(1.25, dtype=torch.float64, requires_grad=True)
    xp = (x.detach().abs() + 0.5).requires_grad_()  # Lp of |x| away from the kink at 0
    assert torch.autograd.gradcheck(
        lambda x, p: functions.lp_pool(x, p, axes, "abs", "rescaled"), (xp, p), **check
    )
    assert torch.autograd.gradcheck(
        lambda x, b: functions.smooth_max_pool(x, b, axes, "zero"), (x, beta), **check
    )


def test_torch_func_jvp_runs_the_forward_kernels():
    case = GRAD_CASES[1]
    x = _tiny(case.shape).detach()
    x_dot = torch.ones_like(x)
    p, p_dot = torch.tensor(3.0, dtype=torch.float64), torch.tensor(0.25, dtype=torch.float64)
    y, y_dot = torch.func.jvp(
        lambda x, p: functions.lp_pool(x, p, case.axes), (x, p), (x_dot, p_dot)
    )
    ey, ey_dot = spec.jvp(
        "lp_pool", (x.numpy(), p.numpy()), (x_dot.numpy(), p_dot.numpy()), **case.cfg
    )
    assert_within(y, ey, 1e-13 * np.abs(ey), "func.jvp lp y")
    assert_within(y_dot, ey_dot, 1e-12 * (1 + np.abs(ey_dot)), "func.jvp lp y_dot")
    (_, index), (y_dot, _) = torch.func.jvp(
        lambda x: functions.max_pool(x, case.axes), (x,), (x_dot,)
    )
    assert torch.equal(y_dot, torch.where(index >= 0, 1.0, 0.0).to(x.dtype))


@pytest.mark.parametrize("case", [SLIDING[4], ADAPTIVE[1]], ids=ids([SLIDING[4], ADAPTIVE[1]]))
def test_backward_gathers_are_deterministic(case):
    """Two runs of every gather give the same bits (no atomics, fixed summation order)."""
    x = make_x(case.shape, torch.float32, seed=50, kinds=("normal",))
    y_bar = make_x(case.shape[:2] + case.axes.out, torch.float32, seed=51, kinds=("normal",))
    _, index = tk.max_forward(x, case.axes)
    runs = [
        lambda: (tk.max_backward(y_bar, index, case.axes),),
        lambda: (tk.avg_backward(y_bar, case.axes, False),),
    ]
    if not case.axes.adaptive:
        runs += [
            lambda: tk.lp_backward(y_bar, x, 2.5, case.axes),
            lambda: tk.smooth_max_backward(y_bar, x, 2.0, case.axes, "zero"),
        ]
    for run in runs:
        first, second = run(), run()
        assert all(torch.equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("case", [SLIDING[3], ADAPTIVE[2]], ids=ids([SLIDING[3], ADAPTIVE[2]]))
def test_an_empty_batch_gives_empty_results(case):
    axes = case.axes
    x = torch.empty((0,) + case.shape[1:], dtype=torch.float32)
    out = (0, case.shape[1]) + axes.out
    y, index = tk.max_forward(x, axes)
    assert y.shape == out and index.shape == out
    assert tk.max_backward(y, index, axes).shape == x.shape
    assert tk.max_jvp(x, index).shape == out
    assert tk.avg_forward(x, axes).shape == out and tk.avg_backward(y, axes).shape == x.shape
    if axes.adaptive:
        return
    p = torch.tensor([2.0] * case.shape[1], dtype=torch.float64)
    assert tk.lp_forward(x, p, axes).shape == out
    x_bar, p_bar = tk.lp_backward(y, x, p, axes)
    assert x_bar.shape == x.shape and torch.equal(p_bar, torch.zeros_like(p))
    y, y_dot = tk.smooth_max_jvp(x, 1.0, x, 1.0, axes, "zero")
    assert y.shape == out and y_dot.shape == out
    x_bar, beta_bar = tk.smooth_max_backward(y, x, 1.0, axes, "zero")
    assert x_bar.shape == x.shape and beta_bar.shape == () and beta_bar.item() == 0


# -- torch.func transforms: vmap, jacrev, jacfwd through the kernels ---------------------------
#: a tiny float64 call of every op the kernels serve, d = 1 and 2: the entry point's keywords
#: and its differentiable parameter (None: x only); padding, ceil_mode and per-channel
#: parameters where the op has them
TRANSFORM_CALLS = {
    ("max_pool", 1): (dict(kernel_size=(3,), stride=2, padding=1), None),
    ("max_pool", 2): (dict(kernel_size=(2, 3), stride=(2, 1), padding=1, ceil_mode=True), None),
    ("avg_pool", 1): (dict(kernel_size=(3,), stride=2, padding=1, count_include_pad=False), None),
    ("avg_pool", 2): (
        dict(kernel_size=(2, 2), stride=(1, 2), padding=(1, 0), ceil_mode=True),
        None,
    ),
    ("lp_pool", 1): (dict(kernel_size=(3,), stride=2), [2.5, 1.5]),
    ("lp_pool", 2): (dict(kernel_size=(2, 3), stride=(2, 1), padding=1, ceil_mode=True), 3.0),
    ("smooth_max_pool", 1): (dict(kernel_size=(3,), stride=2, padding=1), 1.75),
    ("smooth_max_pool", 2): (
        dict(kernel_size=(2, 2), stride=1, padding=(0, 1), padding_policy="ignore"),
        [0.5, 4.0],
    ),
    ("adaptive_max_pool", 1): (dict(output_size=(3,)), None),
    ("adaptive_max_pool", 2): (dict(output_size=(3, 2)), None),
    ("adaptive_avg_pool", 1): (dict(output_size=(4,)), None),
    ("adaptive_avg_pool", 2): (dict(output_size=(2, 3)), None),
}
TRANSFORM_SHAPES = {1: (1, 2, 6), 2: (1, 2, 4, 3)}


def _transform_primals(op, d, batch=()):
    """``x`` (positive for Lp: away from its kink at 0) and the parameter, float64 tensors;
    ``batch`` dimensions in front of both for vmap."""
    rng = np.random.default_rng(60 + d)
    cfg, param = TRANSFORM_CALLS[(op, d)]
    x = rng.standard_normal(batch + TRANSFORM_SHAPES[d])
    x = np.abs(x) + 0.5 if op == "lp_pool" else x
    primals = [torch.from_numpy(x)]
    if param is not None:
        p = np.asarray(param, dtype=np.float64)
        scale = 1 + 0.25 * rng.random(batch + p.shape)
        primals.append(torch.from_numpy(np.asarray(p * scale)))
    return cfg, primals


def _spec_jacobian(op, primals, cfg):
    """The spec's Jacobian of ``op`` at ``primals``, one ``[y.size, primal.size]`` block
    per primal: row ``o`` is ``spec.vjp`` of the ``o``-th unit cotangent."""
    arrays = [p.numpy() for p in primals]
    y = np.asarray(spec.OPS[op].function(*arrays, **cfg))
    rows = []
    for o in range(y.size):
        e = np.zeros(y.size)
        e[o] = 1.0
        rows.append([np.ravel(b) for b in spec.vjp(op, arrays, e.reshape(y.shape), **cfg)])
    return [np.stack([r[k] for r in rows]) for k in range(len(arrays))]


@pytest.fixture(params=["pooling", "routed"])
def entry(request, monkeypatch):
    """The op as called: ``ndpool.impl.triton.pooling``'s entry point, or ndpool.impl's
    namesake routed to it (``applies`` made to hold for CPU tensors wherever the context
    is supported, as for a CUDA tensor); ``entry.runs`` counts the kernels' entry calls."""
    from ndpool import impl
    from ndpool.impl.triton import pooling

    runs = []

    def make(op):
        kernel = pooling.OPS[op]
        if request.param == "pooling":
            return lambda *a, **k: runs.append(op) or kernel(*a, **k)
        monkeypatch.setattr(tk, "applies", lambda t: tk.supported_context())
        monkeypatch.setattr(
            pooling, op, lambda *a, **k: runs.append(op) or kernel(*a, **k), raising=True
        )
        return getattr(impl, op)

    make.runs = runs
    make.kind = request.param
    return make


@pytest.mark.parametrize(
    "op,d", list(TRANSFORM_CALLS), ids=[f"{o}-d{d}" for o, d in TRANSFORM_CALLS]
)
def test_jacrev_and_jacfwd_through_the_kernels_are_the_specs_jacobian(entry, op, d):
    """``torch.func.jacrev`` (the pullback vmapped over the unit cotangents) and
    ``torch.func.jacfwd`` (the JVP vmapped over the unit tangents), with respect to ``x``
    and the op's parameter, equal the spec's Jacobian row by row (the audit found every
    row of a jacrev Jacobian equal to the first, and jacfwd refused)."""
    cfg, primals = _transform_primals(op, d)
    fn = entry(op)

    def f(*args):
        return fn(*args, **cfg)

    expected = _spec_jacobian(op, primals, cfg)
    argnums = tuple(range(len(primals)))
    for transform in (torch.func.jacrev, torch.func.jacfwd):
        before = len(entry.runs)
        jacobians = transform(f, argnums=argnums)(*primals)
        assert len(entry.runs) > before, f"{transform.__name__} {op}: the kernels did not run"
        for k, (got, want) in enumerate(zip(jacobians, expected)):
            np.testing.assert_allclose(
                got.reshape(want.shape).numpy(), want, rtol=1e-12, atol=1e-14,
                err_msg=f"{transform.__name__} of {op} d={d} ({entry.kind}), primal {k}",
            )  # fmt: skip


@pytest.mark.parametrize(
    "op,d", list(TRANSFORM_CALLS), ids=[f"{o}-d{d}" for o, d in TRANSFORM_CALLS]
)
def test_vmap_through_the_kernels_is_the_spec_per_sample(entry, op, d):
    """``torch.func.vmap`` over ``x`` (vmapped dimension in the middle) and the parameter:
    each sample's value is the spec's, and per-sample gradients (``vmap`` of ``grad``) are
    the spec's VJP of that sample."""
    cfg, primals = _transform_primals(op, d, batch=(3,))
    fn = entry(op)
    x = primals[0].movedim(0, 2).contiguous()  # the vmapped dimension at position 2
    in_dims = (2,) + (0,) * (len(primals) - 1)
    argnums = tuple(range(len(primals)))
    ys = torch.func.vmap(lambda *a: fn(*a, **cfg), in_dims=in_dims)(x, *primals[1:])
    grads = torch.func.vmap(
        torch.func.grad(lambda *a: fn(*a, **cfg).sum(), argnums=argnums), in_dims=in_dims
    )(x, *primals[1:])
    assert entry.runs, f"vmap {op}: the kernels did not run"
    for b in range(3):
        sample = [p[b].numpy() for p in primals]
        want = spec.OPS[op].function(*sample, **cfg)
        what = f"vmap of {op} d={d} ({entry.kind}), sample {b}"
        np.testing.assert_allclose(ys[b].numpy(), want, rtol=1e-13, atol=1e-15, err_msg=what)
        bars = spec.vjp(op, sample, np.ones(np.shape(want)), **cfg)
        for k, (got, bar) in enumerate(zip(grads, bars)):
            np.testing.assert_allclose(
                got[b].numpy(), bar, rtol=1e-12, atol=1e-14, err_msg=f"{what}: grad {k}"
            )


def test_nested_vmap_folds_every_level():
    """vmap of vmap (x at one level, the per-channel p at the other) and vmap of jacrev
    (per-sample Jacobians): the spec's values and Jacobians for every sample."""
    from ndpool.impl.triton import pooling

    cfg, (x, p) = _transform_primals("lp_pool", 1, batch=(3,))
    ps = p[:2]  # [2, C]: p at the outer level, x at the inner
    inner = torch.func.vmap(lambda x, p: pooling.lp_pool(x, p, **cfg), in_dims=(0, None))
    ys = torch.func.vmap(inner, in_dims=(None, 0))(x, ps)
    jac = torch.func.vmap(torch.func.jacrev(lambda x, p: pooling.lp_pool(x, p, **cfg)))(x, p)
    for a in range(2):
        for b in range(3):
            want = spec.lp_pool(x[b].numpy(), ps[a].numpy(), **cfg)
            np.testing.assert_allclose(ys[a, b].numpy(), want, rtol=1e-13, err_msg=f"{a},{b}")
    for b in range(3):
        (want, _) = _spec_jacobian("lp_pool", [x[b], p[b]], cfg)
        np.testing.assert_allclose(
            jac[b].reshape(want.shape).numpy(), want, rtol=1e-12, atol=1e-14, err_msg=str(b)
        )


def test_derivatives_of_the_rules_are_refused():
    """The rules are kernels, not differentiable: a second derivative through them
    (jacfwd of jacrev, jacrev of jacrev, the gradient or JVP of a pullback, eager double
    backward, eager autograd through a torch.func derivative) raises
    ``NotImplementedError`` instead of differentiating the rule to zero."""
    from ndpool.impl.triton import pooling

    x = torch.linspace(-2.0, 3.0, 12, dtype=torch.float64).reshape(1, 2, 6)

    def f(x):
        return pooling.lp_pool(x, 3.0, kernel_size=(2,))

    y, pullback = torch.func.vjp(f, x)
    ct = torch.ones_like(y)
    attempts = {
        "hessian": lambda: torch.func.hessian(lambda x: f(x).sum())(x),
        "jacrev of jacrev": lambda: torch.func.jacrev(torch.func.jacrev(f))(x),
        "grad of a pullback": lambda: torch.func.grad(lambda c: pullback(c)[0].pow(2).sum())(ct),
        "jvp of a pullback": lambda: torch.func.jvp(lambda c: pullback(c)[0], (ct,), (ct,)),
    }

    def eager_double_backward():
        leaf = x.clone().requires_grad_()
        (g,) = torch.autograd.grad(f(leaf).sum(), leaf, create_graph=True)
        torch.autograd.grad(g.pow(2).sum(), leaf)

    def eager_after_func():
        leaf = x.clone().requires_grad_()
        y, pullback = torch.func.vjp(f, leaf)
        (pullback(torch.ones_like(y))[0].pow(2).sum() + leaf.sum()).backward()

    attempts["eager double backward"] = eager_double_backward
    attempts["eager backward of a torch.func derivative"] = eager_after_func
    for name, attempt in attempts.items():
        with pytest.raises(NotImplementedError, match="derivative of a derivative"):
            attempt()
            pytest.fail(f"{name}: no error")


def test_the_legacy_vmap_is_refused_with_a_message():
    """``torch._vmap_internals``' deprecated vmap (what gradcheck's ``check_batched_grad``
    runs) has no wrapper to take off: a clear ``NotImplementedError``, not a kernel that
    cannot read the storage."""
    import warnings

    from torch._vmap_internals import vmap as legacy_vmap

    from ndpool.impl.triton import pooling

    x = torch.rand(1, 2, 6, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(NotImplementedError, match="legacy vmap"):
            legacy_vmap(lambda x: pooling.max_pool(x, kernel_size=2))(x.detach().expand(3, 1, 2, 6))
        y = pooling.avg_pool(x, kernel_size=2)
        with pytest.raises(NotImplementedError, match="legacy vmap"):
            legacy_vmap(lambda g: torch.autograd.grad(y, x, g, retain_graph=True))(
                torch.ones((3,) + y.shape, dtype=torch.float64)
            )


# -- max values without indices ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", (torch.float32, torch.float64), ids=str)
@pytest.mark.parametrize("case", ALL, ids=ids(ALL))
def test_max_values_only_are_the_values_with_indices(case, dtype):
    """The values-only launch (no int64 index store) gives the spec's values bit for bit,
    the same as the launch that stores indices."""
    x = make_x(case.shape, dtype, seed=70)
    fn = spec.adaptive_max_pool if isinstance(case, Adaptive) else spec.max_pool
    y = tk.max_values(x, case.axes)
    assert_exact(y, fn(spec_np(x), **case.cfg), f"max values only {case.name} {dtype}")
    assert_exact(y, tk.max_forward(x, case.axes)[0], f"max values vs indexed {case.name}")


def test_the_max_entry_point_skips_the_index_only_where_none_is_needed(monkeypatch):
    """``max_pool`` launches values only under no_grad (or on a tensor that needs no
    gradient) without ``return_indices``; with a gradient to take, a tangent, a torch.func
    transform or ``return_indices`` it keeps the indices."""
    import torch.autograd.forward_ad as fwad

    from ndpool.impl.triton import ops, pooling

    calls = []
    values = ops.max_values
    monkeypatch.setattr(ops, "max_values", lambda *a: calls.append(1) or values(*a))
    x = make_x((2, 3, 7, 6), torch.float32, seed=71, kinds=("normal",))
    cfg = dict(kernel_size=3, stride=2, padding=1)

    def values_only(run) -> bool:
        calls.clear()
        run()
        return bool(calls)

    with torch.no_grad():
        assert values_only(lambda: pooling.max_pool(x.requires_grad_(), **cfg))
    x = x.detach()
    assert values_only(lambda: pooling.max_pool(x, **cfg))
    assert not values_only(lambda: pooling.max_pool(x, **cfg, return_indices=True))
    assert not values_only(lambda: pooling.max_pool(x.requires_grad_(), **cfg))
    x = x.detach()
    assert not values_only(lambda: torch.func.grad(lambda x: pooling.max_pool(x, **cfg).sum())(x))
    with fwad.dual_level():
        dual = fwad.make_dual(x, torch.ones_like(x))
        assert not values_only(lambda: pooling.max_pool(dual, **cfg))
    with torch.no_grad():
        got = pooling.adaptive_max_pool(x, output_size=(3, 4))
    assert_exact(got, spec.adaptive_max_pool(x.numpy(), output_size=(3, 4)), "adaptive values")


def test_the_batching_docstring_example_runs():
    import doctest

    from ndpool.impl.triton import batching

    result = doctest.testmod(batching, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted and result.failed == 0, result
