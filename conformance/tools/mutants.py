"""Deliberately broken targets (NumPy in/out, built by wrapping the spec): the suite must
reject every one of them. ``MUTANTS`` maps a name to a :class:`Mutant`; the meta-tests
(tests/conformance/test_conformance_mutants.py) and the kill-rate script
(``python -m ndpool.conformance.tools.killrate``) run them.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ndpool import spec
from ndpool.spec.selection import first_maximizer

from ..targets import Capabilities, NumpyTarget

CORE_OPS = (
    "max_pool",
    "avg_pool",
    "lp_pool",
    "smooth_max_pool",
    "adaptive_max_pool",
    "adaptive_avg_pool",
)


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    ops: tuple[str, ...]  # the ops it breaks (only these are checked)
    overrides: Callable[[], dict]  # attribute name -> replacement
    #: its ops reject invalid input as the spec does (so the one bug is the named one);
    #: False for a mutant whose bug is what it accepts
    validates: bool = True

    def target(self) -> NumpyTarget:
        attrs = {op: spec.OPS[op].function for op in CORE_OPS}
        attrs["jvp"] = spec.jvp
        attrs["vjp"] = spec.vjp
        for name, fn in self.overrides().items():
            checked = self.validates and name in spec.OPS
            attrs[name] = _validated(spec.OPS[name], fn) if checked else fn
        return NumpyTarget(
            types.SimpleNamespace(**attrs),
            name=f"mutant:{self.name}",
            capabilities=Capabilities(error_ids=False),
            construct=(
                "from ndpool.conformance.tools.mutants import MUTANTS\n"
                f"target = MUTANTS[{self.name!r}].target()"
            ),
        )


def _validated(record, fn: Callable) -> Callable:
    """``fn`` behind the spec's validation: invalid input raises the spec's error first."""

    def checked(*primals, **cfg):
        record.forward(*primals, **cfg)
        return fn(*primals, **cfg)

    return checked


# -- helpers: the spec's geometry, for mutants that change a window rule --
def _windows(x, cfg, fill=0.0):
    x = np.asarray(x)
    record = spec.OPS["adaptive_max_pool" if "output_size" in cfg else "max_pool"]
    key = "output_size" if "output_size" in cfg else "kernel_size"
    d = spec.geometry.spatial_rank(x.ndim, cfg[key], key)
    geometry = {k: v for k, v in cfg.items() if k in record.geometry_keys}
    geom = record.geometry(x.shape, **geometry)
    batched = x.ndim == d + 2
    xb = x if batched else x[None]
    w = geom.gather(xb.astype(np.float64), fill=fill)
    return geom, w, batched, d


def _out(a, batched, dtype):
    a = np.asarray(a)
    a = a if batched else a[0]
    return a.astype(dtype) if np.asarray(a).dtype.kind == "f" else a


def _max_with(select):
    """A max_pool whose winner rule is ``select(w, real, geometry) -> window index``."""

    def fwd(x, *, return_indices=False, **cfg):
        geom, w, batched, _ = _windows(x, cfg)
        sel = select(w, geom.real, geom)
        val = np.take_along_axis(w, np.maximum(sel, 0)[..., None], -1)[..., 0]
        val = np.where(sel >= 0, val, -np.inf)
        idx = np.take_along_axis(
            np.broadcast_to(geom.index, w.shape), np.maximum(sel, 0)[..., None], -1
        )[..., 0]
        idx = np.where(sel >= 0, idx, -1)
        y = _out(val, batched, np.asarray(x).dtype)
        return (y, _out(idx, batched, None)) if return_indices else y

    def jvp(primals, tangents, **cfg):
        (x,), (xd,) = primals, tangents
        cfg.pop("return_indices", None)
        geom, w, batched, _ = _windows(x, cfg)
        _, wd, _, _ = _windows(xd, cfg)
        sel = select(w, geom.real, geom)
        dot = np.take_along_axis(wd, np.maximum(sel, 0)[..., None], -1)[..., 0]
        dot = np.where(sel >= 0, dot, 0.0)
        return fwd(x, **cfg), _out(dot, batched, np.asarray(x).dtype)

    def vjp(primals, cot, **cfg):
        (x,) = primals
        cfg.pop("return_indices", None)
        geom, w, batched, _ = _windows(x, cfg)
        sel = select(w, geom.real, geom)
        cb = np.asarray(cot, dtype=np.float64)
        cb = cb if batched else cb[None]
        hot = (np.arange(w.shape[-1]) == sel[..., None]) * cb[..., None]
        xbar = geom.scatter(hot)
        return (_out(xbar, batched, np.asarray(x).dtype),)

    return fwd, jvp, vjp


def _last_maximizer(w, real, _geom=None):
    rev = first_maximizer(w[..., ::-1], np.asarray(real)[..., ::-1])
    return np.where(rev >= 0, w.shape[-1] - 1 - rev, -1)


def _nan_dropped(w, real, _geom=None):
    return first_maximizer(np.where(np.isnan(w), -np.inf, w), real)


def _first_real_cell(w, real, _geom=None):
    real = np.broadcast_to(real, w.shape)
    return np.where(real.any(-1), real.argmax(-1), -1)


def _column_major_first(w, real, geom):
    """The first maximizer in column-major order (the first axis fastest): another cell
    than row-major's where a 2-D window's tie lies along a diagonal."""
    taps = tuple(a.taps for a in geom.axes)
    order = np.arange(math.prod(taps)).reshape(taps).transpose().ravel()
    at = first_maximizer(w[..., order], np.broadcast_to(real, w.shape)[..., order])
    return np.where(at >= 0, order[np.maximum(at, 0)], -1)


def _max_override(select, grads_only=False, name="max_pool"):
    fwd, jvp, vjp = _max_with(select)
    if grads_only:
        return {f"{name}_jvp": jvp, f"{name}_vjp": vjp}
    return {name: fwd, f"{name}_jvp": jvp, f"{name}_vjp": vjp}


def _max_padding_zero():
    def fwd(x, *, return_indices=False, **cfg):
        geom, w, batched, _ = _windows(x, cfg, fill=0.0)
        taking = np.broadcast_to(geom.in_extent, w.shape)
        sel = first_maximizer(w, geom.in_extent)
        val = np.take_along_axis(w, np.maximum(sel, 0)[..., None], -1)[..., 0]
        val = np.where(taking.any(-1), val, -np.inf)
        y = _out(val, batched, np.asarray(x).dtype)
        if return_indices:
            return y, spec.max_pool(x, return_indices=True, **cfg)[1]
        return y

    return {"max_pool": fwd}


# -- avg --
def _avg_ceil_divisor():
    def fwd(x, **cfg):
        if cfg.get("ceil_mode") and cfg.get("divisor_override") is None:
            k = cfg["kernel_size"]
            d = len(k) if isinstance(k, (tuple, list)) else np.ndim(x) - 2
            ks = list(k) if isinstance(k, (tuple, list)) else [k] * d
            if cfg.get("count_include_pad", True):
                return spec.avg_pool(x, **{**cfg, "divisor_override": math.prod(ks)})
        return spec.avg_pool(x, **cfg)

    return {"avg_pool": fwd}


def _avg_count_include_pad_ignored():
    return {"avg_pool": lambda x, **cfg: spec.avg_pool(x, **{**cfg, "count_include_pad": True})}


def _avg_nan_dropped():
    def fwd(x, **cfg):
        x = np.asarray(x)
        return spec.avg_pool(np.where(np.isnan(x), 0, x).astype(x.dtype), **cfg)

    return {"avg_pool": fwd}


def _avg_vjp_doubled():
    def vjp(primals, cot, **cfg):
        (xb,) = spec.vjp("avg_pool", primals, cot, **cfg)
        return (xb * 2,)

    return {"avg_pool_vjp": vjp}


def _avg_rounded_bfloat16():
    from ..cases import to_dtype

    def fwd(x, **cfg):
        y = spec.avg_pool(x, **cfg)
        return to_dtype(y, "bfloat16").astype(y.dtype) if y.dtype == np.float32 else y

    return {"avg_pool": fwd}


def _adaptive_avg_floor_bins():
    def fwd(x, *, output_size):
        x = np.asarray(x)
        d = len(output_size) if isinstance(output_size, (tuple, list)) else x.ndim - 2
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * d
        spatial = x.shape[-d:]
        y = x.astype(np.float64)
        for a, (length, n) in enumerate(zip(spatial, sizes)):
            n = length if n is None else n
            axis = x.ndim - d + a
            cols = []
            for i in range(n):
                s, e = (i * length) // n, max((i + 1) * length // n, (i * length) // n + 1)
                cols.append(np.take(y, range(s, e), axis=axis).mean(axis=axis, keepdims=True))
            y = np.concatenate(cols, axis=axis)
        return y.astype(x.dtype)

    return {"adaptive_avg_pool": fwd}


# -- lp and smooth max ----------------------------------------------------------------------------
def _lp_sign_ignored():
    return {"lp_pool": lambda x, p, **cfg: spec.lp_pool(x, p, **{**cfg, "sign": "abs"})}


def _lp_ceil_rescaled():
    def fwd(x, p, **cfg):
        y = spec.lp_pool(x, p, **cfg)
        if not cfg.get("ceil_mode"):
            return y
        geom, _, _, _ = _windows(x, {k: v for k, v in cfg.items() if k != "sign"})
        full = math.prod(a.taps for a in geom.axes)
        count = geom.real.sum(-1)
        pp = np.asarray(p, dtype=np.float64)
        pp = pp.reshape((-1,) + (1,) * geom.d) if pp.ndim else pp
        with np.errstate(all="ignore"):
            scale = np.where(np.isinf(pp), 1.0, (full / count) ** (1 / pp))
        return (y * scale).astype(y.dtype)

    return {"lp_pool": fwd}


def _smooth_policy_ignored():
    return {
        "smooth_max_pool": lambda x, b, **cfg: spec.smooth_max_pool(
            x, b, **{**cfg, "padding_policy": "ignore"}
        )
    }


def _smooth_beta_grad_negated():
    def vjp(primals, cot, **cfg):
        xb, bb = spec.vjp("smooth_max_pool", primals, cot, **cfg)
        return xb, -bb

    return {"smooth_max_pool_vjp": vjp}


# -- shapes, layouts, validation --
def _ceil_dropped():
    def fwd(x, **cfg):
        return spec.max_pool(x, **{**cfg, "ceil_mode": False})

    return {"max_pool": fwd}


def _layout_confused():
    def fwd(x, **cfg):
        x = np.asarray(x)
        if not x.flags.c_contiguous and x.ndim >= 3:
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1)).reshape(x.shape)
        return spec.avg_pool(x, **cfg)

    return {"avg_pool": fwd}


def _unbatched_kept_batch():
    def fwd(x, **cfg):
        k = cfg["kernel_size"]
        x = np.asarray(x)
        if isinstance(k, (tuple, list)) and x.ndim == len(k) + 1:
            return spec.max_pool(x[None], **cfg)
        return spec.max_pool(x, **cfg)

    return {"max_pool": fwd}


def _empty_batch_crash():
    def fwd(x, **cfg):
        if np.asarray(x).size == 0:
            raise RuntimeError("cannot reshape tensor of 0 elements")
        return spec.adaptive_max_pool(x, **cfg)

    return {"adaptive_max_pool": fwd}


def _drops_big_padding():
    """Padding past half the effective kernel (the limit C6, which the spec no longer
    imposes) silently cut back to that limit: windows of padding only vanish."""

    def fwd(x, **cfg):
        x = np.asarray(x)
        record = spec.OPS["max_pool"]
        full = record.config(cfg)
        d = record.rank(x.ndim, full)
        r = spec.sliding_axes(
            x.shape[-d:], **{k: full[k] for k in ("kernel_size", "stride", "padding", "dilation")}
        )
        cut = tuple((min(b, e // 2), min(a, e // 2)) for (b, a), e in zip(r.pads, r.eff))
        return spec.max_pool(x, **{**cfg, "padding": cut} if cut != r.pads else cfg)

    return {"max_pool": fwd}


def _indices_global():
    def fwd(x, *, return_indices=False, **cfg):
        out = spec.max_pool(x, return_indices=return_indices, **cfg)
        if not return_indices:
            return out
        y, idx = out
        x = np.asarray(x)
        k = cfg["kernel_size"]
        d = len(k) if isinstance(k, (tuple, list)) else x.ndim - 2
        cax = 1 if x.ndim == d + 2 else 0
        plane = math.prod(x.shape[-d:])
        shape = [1] * idx.ndim
        shape[cax] = -1
        channel = np.arange(x.shape[cax]).reshape(shape)
        return y, np.where(idx >= 0, idx + channel * plane, idx)

    return {"max_pool": fwd}


# -- one per corpus edge class (conformance/corpus.py) --
def _window_op(op: str, reduce, dtype_windows: bool = False):
    """``{op: fwd}`` computing every window with ``reduce(w, geom) -> [N, C, *O]`` (cells
    in float64, or in the input's dtype where ``dtype_windows``), everything else as the
    spec has it (other options are passed through to ``_windows``' geometry only)."""

    def fwd(x, *params, **cfg):
        x = np.asarray(x)
        geom, w, batched, _ = _windows(x, cfg, fill=0.0)
        if dtype_windows:
            w = w.astype(x.dtype)
        with np.errstate(all="ignore"):
            return _out(reduce(w, geom, cfg, *params), batched, x.dtype)

    return {op: fwd}


def _where_spec(op: str, broken, when):
    """``{op: fwd}``: the spec's values, replaced by ``broken(w, geom, cfg, *params)`` in the
    windows where ``when(w, geom)`` holds."""

    def fwd(x, *params, **cfg):
        y = np.asarray(spec.OPS[op].function(x, *params, **cfg))
        geom, w, batched, _ = _windows(x, {k: v for k, v in cfg.items() if k != "sign"})
        with np.errstate(all="ignore"):
            bad = _out(broken(w, geom, cfg, *params), batched, y.dtype)
            return np.where(_out(when(w, geom), batched, None), bad, y).astype(y.dtype)

    return {op: fwd}


def _real(w, geom):
    return np.broadcast_to(geom.real, w.shape)


def _last_nan_or_first_max(w, real, _geom=None):
    nan = np.isnan(w) & np.broadcast_to(real, w.shape)
    last = w.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    return np.where(nan.any(-1), last, first_maximizer(w, real))


def _positive_zero_wins(w, real, _geom=None):
    sel = first_maximizer(w, real)
    zero = np.take_along_axis(w, np.maximum(sel, 0)[..., None], -1)[..., 0] == 0
    plus = (w == 0) & ~np.signbit(w) & np.broadcast_to(real, w.shape)
    return np.where(zero & plus.any(-1), np.argmax(plus, axis=-1), sel)


def _max_overhang_zero():
    def fwd(x, *, return_indices=False, **cfg):
        geom, w, batched, _ = _windows(x, cfg, fill=-np.inf)
        overhang = np.broadcast_to(~geom.in_extent, w.shape)
        val = np.where(overhang, 0.0, w).max(axis=-1, initial=-np.inf)
        y = _out(val, batched, np.asarray(x).dtype)
        return (y, spec.max_pool(x, return_indices=True, **cfg)[1]) if return_indices else y

    return {"max_pool": fwd}


def _max_dilated_padding_wraps():
    def fwd(x, *, return_indices=False, **cfg):
        geom, _, batched, _ = _windows(x, cfg, fill=-np.inf)
        dilated = any(a.taps > 1 and np.diff(a.position, axis=-1).max() > 1 for a in geom.axes)
        if not dilated:
            return spec.max_pool(x, return_indices=return_indices, **cfg)
        xb = np.asarray(x, dtype=np.float64)
        xb = xb if batched else xb[None]
        flat = xb.reshape(xb.shape[0], xb.shape[1], -1)
        strides = np.cumprod((1,) + geom.spatial_in[:0:-1])[::-1]
        wrapped = geom._combine(  # Python's negative indexing: position -1 is the last cell
            [np.mod(a.position, a.length) * s for a, s in zip(geom.axes, strides)], np.add
        )
        cells = np.take(flat, np.where(geom.in_extent, wrapped, 0), axis=2)
        cells = np.where(geom.in_extent, cells, -np.inf)
        y = _out(cells.max(axis=-1, initial=-np.inf), batched, np.asarray(x).dtype)
        return (y, spec.max_pool(x, return_indices=True, **cfg)[1]) if return_indices else y

    return {"max_pool": fwd}


def _avg_global_drops_last():
    def fwd(x, **cfg):
        x = np.asarray(x)
        geom, _, _, _ = _windows(x, cfg)
        if all(a.taps == a.length for a in geom.axes) and x.shape[-1] > 1:
            return spec.avg_pool(x[..., :-1], **{**cfg, "kernel_size": _shorter(cfg, x)})
        return spec.avg_pool(x, **cfg)

    return {"avg_pool": fwd}


def _shorter(cfg, x):
    k = cfg["kernel_size"]
    if isinstance(k, (tuple, list)):
        return tuple(k[:-1]) + (k[-1] - 1,)
    d = np.ndim(x) - 2
    return (k,) * (d - 1) + (k - 1,)


def _avg_empty_batch_shape():
    def fwd(x, **cfg):
        y = spec.avg_pool(x, **cfg)
        return np.zeros((1,) + y.shape[1:], y.dtype) if np.shape(x)[0] == 0 else y

    return {"avg_pool": fwd}


def _per_channel(a, w):
    """A per-channel parameter against windows ``[N, C, *O, K]``: ``[C, *1, 1]`` (its
    window value), or a scalar as it is."""
    a = np.asarray(a, dtype=w.dtype)
    return a.reshape((-1,) + (1,) * (w.ndim - 2)) if a.ndim else a


def _naive_lp(w, geom, cfg, p):
    pk = _per_channel(p, w)
    t = np.abs(w) if cfg.get("sign", "abs") == "abs" else w
    powers = np.where(_real(w, geom), t**pk, w.dtype.type(0))
    return powers.sum(axis=-1, dtype=w.dtype) ** (1 / (pk[..., 0] if pk.ndim else pk))


def _naive_avg(w, geom, cfg):
    real = _real(w, geom)
    total = np.where(real, w, w.dtype.type(0)).sum(axis=-1, dtype=w.dtype)
    if cfg.get("divisor_override") is not None:
        return total / w.dtype.type(cfg["divisor_override"])
    count = (np.broadcast_to(geom.in_extent, w.shape) if cfg.get("count_include_pad", True)
             else real).sum(-1)  # fmt: skip
    return total / count.astype(w.dtype)


def _naive_smooth(w, geom, cfg, beta):
    b = _per_channel(beta, w)
    present = _real(w, geom)
    if cfg.get("padding_policy") == "zero":
        present = np.broadcast_to(geom.in_extent, w.shape)
        w = np.where(_real(w, geom), w, w.dtype.type(0))
    e = np.where(present, np.exp(b * w), w.dtype.type(0))
    return np.log(e.sum(axis=-1, dtype=w.dtype)) / (b[..., 0] if b.ndim else b)


def _avg_subnormals_flushed():
    def fwd(x, **cfg):
        x = np.asarray(x)
        tiny = np.finfo(x.dtype).tiny
        return spec.avg_pool(np.where(np.abs(x) < tiny, 0, x).astype(x.dtype), **cfg)

    return {"avg_pool": fwd}


def _avg_float64_output():
    return {"avg_pool": lambda x, **cfg: spec.avg_pool(x, **cfg).astype(np.float64)}


def _max_neg_inf_window_lowest():
    def fwd(x, *, return_indices=False, **cfg):
        out = spec.max_pool(x, return_indices=return_indices, **cfg)
        y = out[0] if return_indices else out
        lowest = np.finfo(np.asarray(x).dtype).min
        y = np.where(y == -np.inf, lowest, y).astype(y.dtype)
        return (y, out[1]) if return_indices else y

    return {"max_pool": fwd}


def _has(*kinds):
    def when(w, geom):
        real = _real(w, geom)
        out = np.ones(w.shape[:-1], bool)
        for k in kinds:
            out &= (k(w) & real).any(-1)
        return out

    return when


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant(
            "avg-ceil-edge-divisor",
            "avg_pool divides ceil_mode edge windows by the full kernel size",
            ("avg_pool",),
            _avg_ceil_divisor,
        ),
        Mutant(
            "avg-count-include-pad-ignored",
            "avg_pool always counts padding",
            ("avg_pool",),
            _avg_count_include_pad_ignored,
        ),
        Mutant("avg-nan-dropped", "avg_pool treats NaN as 0", ("avg_pool",), _avg_nan_dropped),
        Mutant(
            "avg-vjp-doubled",
            "avg_pool VJP is twice the truth (JVP right, not adjoint)",
            ("avg_pool",),
            _avg_vjp_doubled,
        ),
        Mutant(
            "avg-rounded-through-bfloat16",
            "float32 avg_pool results rounded to bfloat16",
            ("avg_pool",),
            _avg_rounded_bfloat16,
        ),
        Mutant(
            "adaptive-avg-floor-bins",
            "adaptive bins end at floor((i+1)L/n)",
            ("adaptive_avg_pool",),
            _adaptive_avg_floor_bins,
        ),
        Mutant(
            "max-last-tie",
            "max_pool selects the last maximizer of a tie",
            ("max_pool",),
            lambda: _max_override(_last_maximizer),
        ),
        Mutant(
            "max-column-major-tie",
            "max_pool's ties go to the first maximizer in column-major order",
            ("max_pool",),
            lambda: _max_override(_column_major_first),
        ),
        Mutant(
            "max-nan-dropped",
            "max_pool ignores NaN",
            ("max_pool",),
            lambda: _max_override(_nan_dropped),
        ),
        Mutant(
            "max-padding-as-zero",
            "max_pool compares padded cells as 0",
            ("max_pool",),
            _max_padding_zero,
        ),
        Mutant(
            "max-grad-to-first-cell",
            "max_pool JVP/VJP use the window's first cell",
            ("max_pool",),
            lambda: _max_override(_first_real_cell, grads_only=True),
        ),
        Mutant(
            "adaptive-max-last-tie",
            "adaptive_max_pool selects the last maximizer",
            ("adaptive_max_pool",),
            lambda: _max_override(_last_maximizer, name="adaptive_max_pool"),
        ),
        Mutant(
            "max-indices-global",
            "max_pool indices count earlier channels' planes",
            ("max_pool",),
            _indices_global,
        ),
        Mutant(
            "max-ceil-window-dropped",
            "max_pool ignores ceil_mode (output one short)",
            ("max_pool",),
            _ceil_dropped,
        ),
        Mutant(
            "max-unbatched-keeps-batch",
            "unbatched input gets a batch axis in the output",
            ("max_pool",),
            _unbatched_kept_batch,
        ),
        Mutant(
            "max-drops-big-padding",
            "max_pool silently cuts padding past half the kernel back to it",
            ("max_pool",),
            _drops_big_padding,
        ),
        Mutant(
            "avg-layout-confused",
            "avg_pool misreads non-contiguous / channels-last input",
            ("avg_pool",),
            _layout_confused,
        ),
        Mutant(
            "adaptive-max-empty-batch-crash",
            "adaptive_max_pool raises on N = 0",
            ("adaptive_max_pool",),
            _empty_batch_crash,
        ),
        Mutant("lp-sign-ignored", "lp_pool ignores sign='signed'", ("lp_pool",), _lp_sign_ignored),
        Mutant(
            "lp-ceil-window-rescaled",
            "lp_pool rescales partial ceil windows (PyTorch)",
            ("lp_pool",),
            _lp_ceil_rescaled,
        ),
        Mutant(
            "smooth-padding-policy-ignored",
            "smooth_max_pool ignores padding_policy",
            ("smooth_max_pool",),
            _smooth_policy_ignored,
        ),
        Mutant(
            "max-nan-last",
            "max_pool selects the last NaN of a window (values agree, indices do not)",
            ("max_pool",),
            lambda: _max_override(_last_nan_or_first_max),
        ),
        Mutant(
            "avg-nan-window-zero",
            "avg_pool of a window of NaN only is 0",
            ("avg_pool",),
            lambda: _where_spec(
                "avg_pool",
                lambda w, g, cfg: np.zeros(w.shape[:-1]),
                lambda w, g: (np.isnan(w) | ~_real(w, g)).all(-1) & _real(w, g).any(-1),
            ),
        ),
        Mutant(
            "lp-inf-window-nan",
            "lp_pool of a window holding +-inf is NaN (inf / inf in the scaling)",
            ("lp_pool",),
            lambda: _where_spec(
                "lp_pool", lambda w, g, cfg, p: np.full(w.shape[:-1], np.nan), _has(np.isinf)
            ),
        ),
        Mutant(
            "avg-inf-both-zero",
            "avg_pool of a window holding +inf and -inf is 0, not NaN",
            ("avg_pool",),
            lambda: _where_spec(
                "avg_pool",
                lambda w, g, cfg: np.zeros(w.shape[:-1]),
                _has(lambda w: w == np.inf, lambda w: w == -np.inf),
            ),
        ),
        Mutant(
            "max-neg-inf-window-lowest",
            "max_pool gives the dtype's lowest finite value where the spec has -inf",
            ("max_pool",),
            _max_neg_inf_window_lowest,
        ),
        Mutant(
            "max-positive-zero-wins",
            "max_pool prefers +0.0 to an earlier -0.0",
            ("max_pool",),
            lambda: _max_override(_positive_zero_wins),
        ),
        Mutant(
            "max-ceil-overhang-zero",
            "max_pool reads a ceil_mode window's cells past the padding as 0",
            ("max_pool",),
            _max_overhang_zero,
        ),
        Mutant(
            "max-dilated-padding-wraps",
            "a dilated max_pool reads padding at index -1 as the last cell (negative indexing)",
            ("max_pool",),
            _max_dilated_padding_wraps,
        ),
        Mutant(
            "avg-global-window-drops-last",
            "avg_pool with the kernel the size of the input leaves out its last cell",
            ("avg_pool",),
            _avg_global_drops_last,
        ),
        Mutant(
            "avg-empty-batch-shape",
            "avg_pool of an empty batch returns one (zero) sample",
            ("avg_pool",),
            _avg_empty_batch_shape,
        ),
        Mutant(
            "lp-naive-power",
            "lp_pool sums x^p in the input's dtype (tiny windows give 0, huge ones inf)",
            ("lp_pool",),
            lambda: _window_op("lp_pool", _naive_lp, dtype_windows=True),
        ),
        Mutant(
            "avg-sum-overflow",
            "avg_pool sums in the input's dtype, then divides (overflows where the mean does not)",
            ("avg_pool",),
            lambda: _window_op("avg_pool", _naive_avg, dtype_windows=True),
        ),
        Mutant(
            "smooth-naive-exp",
            "smooth_max_pool as log(sum(exp(beta x))) / beta in the input's dtype",
            ("smooth_max_pool",),
            lambda: _window_op("smooth_max_pool", _naive_smooth, dtype_windows=True),
        ),
        Mutant(
            "avg-subnormals-flushed",
            "avg_pool flushes subnormal inputs to zero (FTZ/DAZ)",
            ("avg_pool",),
            _avg_subnormals_flushed,
        ),
        Mutant(
            "avg-float64-output",
            "avg_pool returns float64 whatever the input's dtype",
            ("avg_pool",),
            _avg_float64_output,
        ),
        Mutant(
            "smooth-beta-grad-negated",
            "smooth_max_pool VJP of beta has the wrong sign",
            ("smooth_max_pool",),
            _smooth_beta_grad_negated,
        ),
    )
}
