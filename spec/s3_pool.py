"""S3Pool (Zhai et al., 2017): stride-1 max pooling, then stochastic grid-wise sampling.

S3Pool is a composition, not one window reduction, so it has its own record
class (:class:`S3Op`) with the registry interface of every op.

Step 1 (both modes): ``m = max_pool(x, kernel_size, stride=1, padding, dilation)``
-- on every spatial axis the map ``m`` has
``L' = L + pad_begin + pad_end - dilation (k - 1)`` cells (the reference code uses
``k = 2`` and no padding, so ``L' = L - 1``). ``ceil_mode`` is accepted for a
uniform interface and has no effect at stride 1. ``stride`` (default
``kernel_size``) is the downsampling factor of step 2, ``grid_size`` (default
``stride``) its grid.

Step 2, ``mode="train"`` (default): on every axis ``a`` the *input* length ``L``
is cut into ``n = L // grid_size`` grids; grid ``j`` covers rows
``[j g, (j + 1) g)`` of ``m`` except the last, which runs to ``L'`` (it takes the
remainder, as in the reference code). From every grid ``g / stride`` distinct
rows are kept, in increasing order, so the axis has ``O = n g / stride``
outputs; the kept rows of all axes form a grid: ``y = m[..., r_1, r_2, ...]``
(``numpy.ix_``), shared by the whole batch and every channel. The kept rows are
the explicit, non-differentiable input ``indices``: one int array of length
``O_1 + ... + O_d``, axis 0's rows first (see :func:`s3_layout`,
:func:`s3_sample_indices`). In the reference sampler each grid's rows are a
uniformly random ``g/stride``-subset of the grid, sorted.

Step 2, ``mode="eval"`` (as in the reference code's deterministic path):
average pooling of ``m`` with kernel ``stride``, stride ``stride``, padding
``stride // 2`` and padded cells excluded from the divisor
(``count_include_pad=False``); ``indices`` may be ``None`` and is ignored. The
eval output extent ``floor((L' + 2 (s // 2) - s) / s) + 1`` equals the train
extent ``L / s`` for the usual case ``k = 2``, ``L`` a multiple of ``g``, even ``s``.

Derivatives are those of the composition: train ``y_dot = m_dot[rows]`` and the
cotangent is placed at the kept rows then sent through max pooling's VJP (first
maximizer); eval composes the max-pool and avg-pool derivatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import geometry as geo
from .avg_pool import AVG_POOL
from .constraints import fail
from .max_pool import MAX_POOL
from .window_op import InputSpec, PoolerOp

MODES = ("train", "eval")
S3_KEYS = {
    "kernel_size": None,
    "stride": None,
    "padding": 0,
    "dilation": 1,
    "ceil_mode": False,
    "grid_size": None,
    "mode": "train",
}


def _unused(*args):  # the S3Op record never reduces windows itself
    raise NotImplementedError


@dataclass
class S3Op(PoolerOp):
    """The registry record of ``s3_pool`` (same interface as :class:`WindowOp`)."""

    s3_keys: dict[str, Any] = field(default_factory=lambda: dict(S3_KEYS))

    @property
    def config_defaults(self) -> dict[str, Any]:
        return dict(self.s3_keys)

    @property
    def returns_indices(self) -> bool:
        return False

    def exact_for(self, **cfg) -> bool:
        return self._config(cfg)["mode"] == "train"

    def _config(self, cfg):
        unknown = set(cfg) - set(self.s3_keys)
        if unknown:
            raise TypeError(f"{self.name}() got unexpected keyword(s) {sorted(unknown)}")
        full = {**self.s3_keys, **cfg}
        if full["kernel_size"] is None:
            raise TypeError(f"{self.name}() missing required keyword 'kernel_size'")
        if full["mode"] not in MODES:
            raise fail("C14", f"mode={full['mode']!r} must be one of {MODES}")
        return full

    def layout(self, x_shape, **cfg):
        return s3_layout(x_shape, **cfg)

    def output_shape(self, x_shape, **cfg):
        cfg = self._config(cfg)
        lay = s3_layout(tuple(x_shape), **cfg)
        d = len(lay)
        if cfg["mode"] == "train":
            spatial = tuple(a["out"] for a in lay)
        else:
            spatial = tuple(a["eval_out"] for a in lay)
        return tuple(x_shape[: len(x_shape) - d]) + spatial

    # -- the composition ------------------------------------------------------------
    def _parts(self, primals, cfg):
        arrays = self._arrays(primals)
        cfg = self._config(cfg)
        x, indices = arrays
        geo.spatial_rank(np.ndim(x), cfg["kernel_size"])
        lay = s3_layout(x.shape, **cfg)
        mp_cfg = {
            "kernel_size": _kernel(lay),
            "stride": 1,
            "padding": cfg["padding"],
            "dilation": cfg["dilation"],
        }
        if cfg["mode"] == "eval":
            s = tuple(a["stride"] for a in lay)
            ap_cfg = {
                "kernel_size": s,
                "stride": s,
                "padding": tuple(v // 2 for v in s),
                "count_include_pad": False,
            }
            return cfg, x, None, mp_cfg, ap_cfg
        if indices is None:
            raise fail("C16", 's3_pool(mode="train") needs the sampled indices')
        return cfg, x, _rows(indices, lay), mp_cfg, None

    def forward(self, *primals, **cfg):
        if cfg.pop("return_indices", False):
            raise TypeError(f"{self.name}() has no return_indices")
        cfg, x, rows, mp_cfg, ap_cfg = self._parts(primals, cfg)
        m = MAX_POOL.forward(x, **mp_cfg)
        if rows is None:
            return AVG_POOL.forward(m, **ap_cfg)
        return m[(Ellipsis,) + np.ix_(*rows)]

    def jvp(self, primals, tangents, **cfg):
        cfg.pop("return_indices", None)
        cfg, x, rows, mp_cfg, ap_cfg = self._parts(primals, cfg)
        t = tangents[0] if len(tangents) else None
        t = np.zeros_like(x) if t is None else t
        m, m_dot = MAX_POOL.jvp((x,), (t,), **mp_cfg)
        if rows is None:
            return AVG_POOL.jvp((m,), (m_dot,), **ap_cfg)
        ix = (Ellipsis,) + np.ix_(*rows)
        return m[ix], m_dot[ix]

    def vjp(self, primals, cotangent, **cfg):
        cfg.pop("return_indices", None)
        cfg, x, rows, mp_cfg, ap_cfg = self._parts(primals, cfg)
        m = MAX_POOL.forward(x, **mp_cfg)
        y_bar = np.asarray(cotangent)
        if rows is None:
            (m_bar,) = AVG_POOL.vjp((m,), y_bar, **ap_cfg)
        else:
            m_bar = np.zeros(m.shape, dtype=y_bar.dtype)
            if m_bar.dtype == object:
                m_bar[...] = 0
            np.add.at(m_bar, (Ellipsis,) + np.ix_(*rows), y_bar)
        (x_bar,) = MAX_POOL.vjp((x,), m_bar, **mp_cfg)
        return x_bar, None


def _kernel(lay):
    return tuple(a["kernel"] for a in lay)


def s3_layout(
    x_shape,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    grid_size=None,
    mode="train",
):
    """Per spatial axis: ``kernel``, ``stride``, ``grid``, ``mapped`` (``L'``), ``grids``
    (``n``), ``per_grid`` (``g / stride``), ``out`` (``n g / stride``), ``eval_out`` and
    ``bounds`` (``[(start, end)]`` of every grid in rows of ``m``). Checks C1-C8, C21.

    >>> [(a["mapped"], a["grids"], a["per_grid"], a["out"], a["bounds"])
    ...  for a in s3_layout((1, 1, 8), kernel_size=2, grid_size=4)]
    [(7, 2, 2, 4, [(0, 4), (4, 7)])]
    """
    x_shape = tuple(x_shape)
    d = geo.spatial_rank(len(x_shape), kernel_size)
    spatial = x_shape[-d:]
    kernel = geo.per_axis(kernel_size, d, "kernel_size", "C2")
    strides = kernel if stride is None else geo.per_axis(stride, d, "stride", "C3")
    grids = strides if grid_size is None else geo.per_axis(grid_size, d, "grid_size", "C21")
    mp = geo.sliding_geometry(
        spatial, kernel_size=kernel, stride=1, padding=padding, dilation=dilation
    )
    out = []
    for a, (length, k, s, g) in enumerate(zip(spatial, kernel, strides, grids)):
        mapped = mp.spatial_out[a]
        if g % s:
            raise fail("C21", f"grid_size {g} on axis {a} is not a multiple of stride {s}")
        n, per = length // g, g // s
        if n < 1:
            raise fail("C21", f"input length {length} on axis {a} is shorter than grid_size {g}")
        bounds = [(j * g, (j + 1) * g) for j in range(n - 1)] + [((n - 1) * g, mapped)]
        if bounds[-1][1] - bounds[-1][0] < per:
            raise fail(
                "C21",
                f"the last grid on axis {a} holds {bounds[-1][1] - bounds[-1][0]} rows of the "
                f"stride-1 max map (length {mapped}) but {per} are kept per grid",
            )
        eval_out = (mapped + 2 * (s // 2) - s) // s + 1
        out.append(
            {
                "kernel": k,
                "stride": s,
                "grid": g,
                "mapped": mapped,
                "grids": n,
                "per_grid": per,
                "out": n * per,
                "eval_out": eval_out,
                "bounds": bounds,
            }
        )
    return out


def _rows(indices, lay):
    """Split and check the flat ``indices`` into one row array per axis (C21)."""
    idx = np.asarray(indices)
    total = sum(a["out"] for a in lay)
    if idx.shape != (total,) or (idx.size and idx.dtype.kind not in "iu"):
        raise fail("C21", f"indices must be {total} integers (got shape {idx.shape}, {idx.dtype})")
    rows, start = [], 0
    for axis, a in enumerate(lay):
        r = idx[start : start + a["out"]].astype(np.int64)
        start += a["out"]
        for j, (lo, hi) in enumerate(a["bounds"]):
            block = r[j * a["per_grid"] : (j + 1) * a["per_grid"]]
            if (block < lo).any() or (block >= hi).any() or (np.diff(block) <= 0).any():
                raise fail(
                    "C21",
                    f"indices {block.tolist()} of grid {j} on axis {axis} must be strictly "
                    f"increasing rows in [{lo}, {hi})",
                )
        rows.append(r)
    return rows


def s3_sample_indices(rng: np.random.Generator, x_shape, **cfg) -> np.ndarray:
    """Draw ``indices`` as the reference sampler does: per grid, a uniformly random
    ``g/stride``-subset of its rows, sorted; axes concatenated.

    >>> idx = s3_sample_indices(np.random.default_rng(0), (1, 1, 8, 8), kernel_size=2,
    ...                         grid_size=4)
    >>> idx.shape, bool(((idx[:2] < 4) & (idx[2:4] >= 4)).all())
    ((8,), True)
    """
    cfg.pop("mode", None)
    parts = []
    for a in s3_layout(x_shape, **cfg):
        for lo, hi in a["bounds"]:
            parts.append(np.sort(lo + rng.permutation(hi - lo)[: a["per_grid"]]))
    return np.concatenate(parts).astype(np.int64)


S3_POOL = S3Op(
    name="s3_pool",
    value=_unused,
    jvp_rule=_unused,
    vjp_rule=_unused,
    options={"grid_size": None, "mode": "train"},
    exact=False,
    specs=(
        InputSpec("x", "x"),
        InputSpec(
            "indices",
            "index",
            differentiable=False,
            domain="int64 [O_1 + ... + O_d]: per axis, per grid, sorted distinct rows (see "
            "s3_layout / s3_sample_indices); ignored in eval mode",
            optional=True,
            sampler=lambda rng, x_shape, **cfg: s3_sample_indices(rng, x_shape, **cfg),
        ),
    ),
)


@S3_POOL.defines
def s3_pool(
    x,
    indices=None,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    grid_size=None,
    mode: str = "train",
):
    """Stride-1 max pooling, then the kept rows ``indices`` of every axis (train) or
    average pooling by ``stride`` (eval); see the module doc.

    >>> import numpy as np
    >>> x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]]])
    >>> MAX = [3.0, 4.0, 4.0, 5.0, 9.0, 9.0, 6.0]                 # stride-1 max, k = 2
    >>> s3_pool(x, np.array([1, 3, 4, 6]), kernel_size=2, grid_size=4)   # 2 of every 4
    array([[[4., 5., 9., 6.]]])
    >>> s3_pool(x, kernel_size=2, grid_size=4, mode="eval")   # [pad 3] [4 4] [5 9] [9 6]
    array([[[3. , 4. , 7. , 7.5]]])
    """
    return S3_POOL.forward(
        x,
        indices,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        grid_size=grid_size,
        mode=mode,
    )
