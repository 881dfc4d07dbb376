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

    def target(self) -> NumpyTarget:
        attrs = {op: spec.OPS[op].function for op in CORE_OPS}
        attrs["jvp"] = spec.jvp
        attrs["vjp"] = spec.vjp
        attrs.update(self.overrides())
        return NumpyTarget(
            types.SimpleNamespace(**attrs),
            name=f"mutant:{self.name}",
            capabilities=Capabilities(error_ids=False),
            construct=(
                "from ndpool.conformance.tools.mutants import MUTANTS\n"
                f"target = MUTANTS[{self.name!r}].target()"
            ),
        )


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
    """A max_pool whose winner rule is ``select(w, real) -> window index``."""

    def fwd(x, *, return_indices=False, **cfg):
        geom, w, batched, _ = _windows(x, cfg)
        sel = select(w, geom.real)
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
        sel = select(w, geom.real)
        dot = np.take_along_axis(wd, np.maximum(sel, 0)[..., None], -1)[..., 0]
        dot = np.where(sel >= 0, dot, 0.0)
        return fwd(x, **cfg), _out(dot, batched, np.asarray(x).dtype)

    def vjp(primals, cot, **cfg):
        (x,) = primals
        cfg.pop("return_indices", None)
        geom, w, batched, _ = _windows(x, cfg)
        sel = select(w, geom.real)
        cb = np.asarray(cot, dtype=np.float64)
        cb = cb if batched else cb[None]
        hot = (np.arange(w.shape[-1]) == sel[..., None]) * cb[..., None]
        xbar = geom.scatter(hot)
        return (_out(xbar, batched, np.asarray(x).dtype),)

    return fwd, jvp, vjp


def _last_maximizer(w, real):
    rev = first_maximizer(w[..., ::-1], np.asarray(real)[..., ::-1])
    return np.where(rev >= 0, w.shape[-1] - 1 - rev, -1)


def _nan_dropped(w, real):
    return first_maximizer(np.where(np.isnan(w), -np.inf, w), real)


def _first_real_cell(w, real):
    real = np.broadcast_to(real, w.shape)
    return np.where(real.any(-1), real.argmax(-1), -1)


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


def _accepts_big_padding():
    def fwd(x, **cfg):
        try:
            return spec.max_pool(x, **cfg)
        except spec.ConstraintError as exc:
            if exc.constraint != "C6":
                raise
            return spec.max_pool(x, **{**cfg, "padding": 0})

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
            "max-accepts-big-padding",
            "max_pool silently drops padding beyond C6",
            ("max_pool",),
            _accepts_big_padding,
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
            "smooth-beta-grad-negated",
            "smooth_max_pool VJP of beta has the wrong sign",
            ("smooth_max_pool",),
            _smooth_beta_grad_negated,
        ),
    )
}
