"""Launchers: plain functions over tensors that run the kernels of ``kernels.py``.

Every launcher takes a batched input ``[N, C, *S]`` (float16, bfloat16, float32 or
float64; made contiguous), resolved geometry (:class:`~.geometry.Axes`) and the op's
options, and returns new tensors. Nothing is validated: the caller has checked the
configuration (the spec's constraints). Arithmetic runs in float32 for 16- and 32-bit
inputs and in float64 for float64, rounded once to the input's dtype.

Per-channel parameters (``p`` of Lp, ``beta`` of smooth max) are a Python number, a
0-d tensor or a ``[C]`` tensor; their cotangents come back in the parameter's shape
(a 0-d tensor for a number) and dtype (the input's for a number).

Forward-mode rules: ``*_jvp`` launchers return ``(y, y_dot)`` or, for the ops whose
tangent only needs a saved index or is linear, ``y_dot``.
"""

from __future__ import annotations

import math
import os

import torch
import triton
import triton.language as tl

from . import kernels as K
from .geometry import Axes

_COMPUTE = {
    torch.float16: (torch.float32, tl.float32),
    torch.bfloat16: (torch.float32, tl.float32),
    torch.float32: (torch.float32, tl.float32),
    torch.float64: (torch.float64, tl.float64),
}


def block_size() -> int:
    """Flat outputs (or input cells) per program: large under Triton's CPU interpreter,
    where a program is a sequence of NumPy calls, GPU-sized otherwise."""
    return 4096 if os.environ.get("TRITON_INTERPRET") == "1" else 256


def _suffix_products(values: tuple[int, ...]) -> list[int]:
    out, acc = [], 1
    for v in reversed(values):
        out.append(acc)
        acc *= v
    return out[::-1]


def geometry_table(axes: Axes, device) -> torch.Tensor:
    """The ``[NUM_FIELDS, D]`` int64 table the kernels read (row order of ``kernels.py``)."""
    cand = axes.candidates
    rows = [
        axes.length,
        axes.out,
        axes.kernel,
        axes.stride,
        axes.dilation,
        axes.pad_begin,
        axes.pad_end,
        _suffix_products(axes.length),
        _suffix_products(axes.out),
        _suffix_products(axes.kernel),
        cand,
        _suffix_products(cand),
    ]
    assert len(rows) == K.NUM_FIELDS
    return torch.tensor(rows, dtype=torch.int64, device=device).contiguous()


class _Launch:
    """What every launch of one call shares: shapes, planes, dtypes, table, grid."""

    def __init__(self, x_shape: torch.Size, dtype: torch.dtype, axes: Axes, device):
        self.n, self.c = int(x_shape[0]), int(x_shape[1])
        self.axes = axes
        self.in_shape = (self.n, self.c, *axes.length)
        self.out_shape = (self.n, self.c, *axes.out)
        self.plane_in = math.prod(axes.length)
        self.plane_out = math.prod(axes.out)
        self.total_in = self.n * self.c * self.plane_in
        self.total_out = self.n * self.c * self.plane_out
        self.dtype = dtype
        self.compute, self.cdt = _COMPUTE[dtype]
        self.device = device
        self.block = block_size()
        self.table = geometry_table(axes, device)
        self.geometry = dict(D=axes.d, ADAPTIVE=axes.adaptive, CDT=self.cdt, BLOCK=self.block)

    def grid(self, total: int) -> tuple[int]:
        return (triton.cdiv(total, self.block),)

    def empty_out(self, dtype=None) -> torch.Tensor:
        return torch.empty(self.out_shape, dtype=dtype or self.dtype, device=self.device)

    def empty_in(self, dtype=None) -> torch.Tensor:
        return torch.empty(self.in_shape, dtype=dtype or self.dtype, device=self.device)

    def channel_table(self, value) -> torch.Tensor:
        """A per-channel parameter (number, 0-d or ``[C]``) as a float64 ``[C]`` table."""
        t = torch.as_tensor(value, dtype=torch.float64, device=self.device).detach()
        return t.reshape(-1).expand(self.c).contiguous() if t.numel() == 1 else t.contiguous()


def _launch(x: torch.Tensor, axes: Axes) -> _Launch:
    return _Launch(x.shape, x.dtype, axes, x.device)


def _param_cotangent(per_output: torch.Tensor, param, x_dtype: torch.dtype) -> torch.Tensor:
    """Sum per-output parameter cotangents ``[N, C, *O]`` back to the parameter's shape
    (per channel for ``[C]``, everything for a scalar), in float64, then round."""
    t = torch.as_tensor(param)
    dtype = t.dtype if isinstance(param, torch.Tensor) else x_dtype
    summed = per_output.to(torch.float64).transpose(0, 1).flatten(1).sum(dim=1)
    out = summed if t.dim() == 1 else summed.sum()
    return out.to(dtype).reshape(t.shape)


# -- max ------------------------------------------------------------------------------------
def _max_run(x: torch.Tensor, axes: Axes, store_index: bool):
    x = x.contiguous()
    run = _launch(x, axes)
    y = run.empty_out()
    index = run.empty_out(torch.int64) if store_index else None
    if run.total_out:
        K.max_forward_kernel[run.grid(run.total_out)](
            x,
            y,
            y if index is None else index,  # not touched without STORE_INDEX
            run.table,
            run.total_out,
            run.plane_in,
            run.plane_out,
            axes.window_size,
            STORE_INDEX=store_index,
            **run.geometry,
        )
    return y, index


def max_forward(x: torch.Tensor, axes: Axes) -> tuple[torch.Tensor, torch.Tensor]:
    """Max pooling: ``(y, index)``, ``index`` (int64) the flat row-major index of the
    selected cell in its ``[*S]`` plane, -1 for a window with no real cell (value -inf).
    The winner: the first NaN in row-major window order, else the first maximizer;
    padded cells are absent; ``-0.0`` and ``+0.0`` tie."""
    return _max_run(x, axes, store_index=True)


def max_values(x: torch.Tensor, axes: Axes) -> torch.Tensor:
    """The values of :func:`max_forward` only, for a call that needs no index (no
    derivative to take, ``return_indices=False``): the kernel skips the int64 index store,
    which for a 3x3 stride-2 float32 pool is 40 % more traffic than reading ``x`` and
    writing ``y``."""
    return _max_run(x, axes, store_index=False)[0]


def max_backward(grad_y: torch.Tensor, index: torch.Tensor, axes: Axes) -> torch.Tensor:
    """Max pooling VJP (deterministic gather): each input cell sums ``grad_y`` over the
    windows whose saved index is that cell."""
    grad_y, index = grad_y.contiguous(), index.contiguous()
    run = _launch(grad_y, axes)
    grad_x = run.empty_in()
    if run.total_in:
        K.max_backward_kernel[run.grid(run.total_in)](
            grad_y,
            index,
            grad_x,
            run.table,
            run.total_in,
            run.plane_in,
            run.plane_out,
            math.prod(axes.candidates),
            **run.geometry,
        )
    return grad_x


def max_jvp(x_dot: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Max pooling JVP: the tangent of the selected cell (0 for a window with no real
    cell); ``index`` as :func:`max_forward` returns it, ``x_dot`` shaped like ``x``."""
    x_dot, index = x_dot.contiguous(), index.contiguous()
    y_dot = torch.empty(index.shape, dtype=x_dot.dtype, device=x_dot.device)
    total = index.numel()
    if total:
        plane_in = math.prod(x_dot.shape[2:])
        plane_out = math.prod(index.shape[2:])
        block = block_size()
        K.take_kernel[(triton.cdiv(total, block),)](
            x_dot, index, y_dot, total, plane_in, plane_out, BLOCK=block
        )
    return y_dot


max_adaptive_forward = max_forward
max_adaptive_backward = max_backward
max_adaptive_jvp = max_jvp


# -- average --------------------------------------------------------------------------------
def _avg_options(count_include_pad: bool, divisor_override: int | None) -> dict:
    return dict(
        divisor=float(divisor_override or 0),
        OVERRIDE=divisor_override is not None,
        COUNT_PAD=bool(count_include_pad),
    )


def _avg_value(x, axes, count_include_pad, divisor_override, empty_zero):
    x = x.contiguous()
    run = _launch(x, axes)
    y = run.empty_out()
    if run.total_out:
        opts = _avg_options(count_include_pad, divisor_override)
        K.avg_forward_kernel[run.grid(run.total_out)](
            x,
            y,
            run.table,
            opts.pop("divisor"),
            run.total_out,
            run.plane_in,
            run.plane_out,
            axes.window_size,
            EMPTY_ZERO=empty_zero,
            **opts,
            **run.geometry,
        )
    return y


def avg_forward(
    x: torch.Tensor,
    axes: Axes,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> torch.Tensor:
    """Average pooling: the sum of the real cells over the divisor -- ``divisor_override``
    if given, else the window's cells inside the padded extent (``count_include_pad``;
    a ceil_mode overhang is not counted) or its real cells; a zero divisor gives NaN."""
    return _avg_value(x, axes, count_include_pad, divisor_override, empty_zero=False)


def avg_jvp(
    x_dot: torch.Tensor,
    axes: Axes,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    empty_window_derivative: str = "zero",
) -> torch.Tensor:
    """Average pooling JVP: the average of the tangent (the op is linear), except that a
    window with a zero divisor has tangent 0 (``empty_window_derivative="zero"``, the
    spec's default) or NaN (``"nan"``)."""
    empty_zero = empty_window_derivative == "zero"
    return _avg_value(x_dot, axes, count_include_pad, divisor_override, empty_zero)


def avg_backward(
    grad_y: torch.Tensor,
    axes: Axes,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> torch.Tensor:
    """Average pooling VJP (deterministic gather): each input cell sums
    ``grad_y[o] / divisor[o]`` over the windows that contain it."""
    grad_y = grad_y.contiguous()
    run = _launch(grad_y, axes)
    grad_x = run.empty_in()
    if run.total_in:
        opts = _avg_options(count_include_pad, divisor_override)
        K.avg_backward_kernel[run.grid(run.total_in)](
            grad_y,
            grad_x,
            run.table,
            opts.pop("divisor"),
            run.total_in,
            run.plane_in,
            run.plane_out,
            math.prod(axes.candidates),
            **opts,
            **run.geometry,
        )
    return grad_x


def adaptive_avg_forward(x: torch.Tensor, axes: Axes) -> torch.Tensor:
    """Adaptive average pooling: the mean of every bin (divisor = bin size)."""
    return avg_forward(x, axes, count_include_pad=False)


def adaptive_avg_backward(grad_y: torch.Tensor, axes: Axes) -> torch.Tensor:
    """Adaptive average pooling VJP (deterministic gather)."""
    return avg_backward(grad_y, axes, count_include_pad=False)


def adaptive_avg_jvp(x_dot: torch.Tensor, axes: Axes) -> torch.Tensor:
    """Adaptive average pooling JVP: the mean of the tangent over every bin."""
    return avg_jvp(x_dot, axes, count_include_pad=False)


# -- Lp -------------------------------------------------------------------------------------
def _lp_options(sign: str, partial_window: str) -> dict:
    return dict(SIGNED=sign == "signed", RESCALED=partial_window == "rescaled")


def _lp_run(x, p, axes, sign, partial_window, x_dot=None, p_dot=None, grad_y=None):
    """One launch of ``lp_window_kernel``: ``y`` and, as asked, ``y_dot`` or the window
    numbers for the backward gather."""
    x = x.contiguous()
    run = _launch(x, axes)
    y = run.empty_out()
    with_jvp, with_stats = x_dot is not None, grad_y is not None
    p_table = run.channel_table(p)
    p_dot_table = run.channel_table(0.0 if p_dot is None else p_dot)
    y_dot = run.empty_out() if with_jvp else y
    stats = {}
    if with_stats:
        stats = dict(
            y=run.empty_out(run.compute),
            e=run.empty_out(torch.int64),
            norm=run.empty_out(run.compute),
            winner=run.empty_out(torch.int64),
            grad_p=run.empty_out(run.compute),
        )
        grad_y = grad_y.contiguous()
    if run.total_out:
        s = stats or dict(y=y, e=y, norm=y, winner=y, grad_p=y)  # unused pointers
        K.lp_window_kernel[run.grid(run.total_out)](
            x,
            p_table,
            x_dot.contiguous() if with_jvp else x,
            p_dot_table,
            grad_y if with_stats else x,
            y,
            y_dot,
            s["y"],
            s["e"],
            s["norm"],
            s["winner"],
            s["grad_p"],
            run.table,
            run.total_out,
            run.plane_in,
            run.plane_out,
            run.c,
            axes.window_size,
            WITH_JVP=with_jvp,
            WITH_STATS=with_stats,
            **_lp_options(sign, partial_window),
            **run.geometry,
        )
    elif with_stats:
        stats["grad_p"].zero_()
    return run, y, y_dot, stats


def lp_forward(
    x: torch.Tensor, p, axes: Axes, sign: str = "abs", partial_window: str = "sum"
) -> torch.Tensor:
    """Lp pooling ``(rho * sum_i t_i^p)^(1/p)`` over the real cells (``t = |x|`` for
    ``sign="abs"``, ``x`` for ``"signed"``; ``rho = K / n_inside`` for
    ``partial_window="rescaled"``, else 1), computed scaled by the power of two above the
    window's ``max |x|`` (for a large p, where a power of that scaled maximum could leave
    the normal range, by ``max |x|`` itself); ``p = inf`` is ``max |x|`` with the winner
    rule."""
    return _lp_run(x, p, axes, sign, partial_window)[1]


def lp_jvp(
    x: torch.Tensor,
    p,
    x_dot: torch.Tensor,
    p_dot,
    axes: Axes,
    sign: str = "abs",
    partial_window: str = "sum",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lp pooling JVP: ``(y, sum_i dy/dx_i x_dot_i + dy/dp p_dot)`` (``p_dot`` None: 0)."""
    _, y, y_dot, _ = _lp_run(x, p, axes, sign, partial_window, x_dot=x_dot, p_dot=p_dot)
    return y, y_dot


def lp_backward(
    grad_y: torch.Tensor,
    x: torch.Tensor,
    p,
    axes: Axes,
    sign: str = "abs",
    partial_window: str = "sum",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lp pooling VJP: ``(grad_x, grad_p)``; the window numbers are recomputed from ``x``,
    then every input cell gathers its windows' contributions."""
    run, _, _, stats = _lp_run(x, p, axes, sign, partial_window, grad_y=grad_y)
    grad_x = run.empty_in()
    if run.total_in:
        K.lp_backward_kernel[run.grid(run.total_in)](
            x.contiguous(),
            run.channel_table(p),
            grad_y.contiguous(),
            stats["y"],
            stats["e"],
            stats["norm"],
            stats["winner"],
            grad_x,
            run.table,
            run.total_in,
            run.plane_in,
            run.plane_out,
            run.c,
            axes.window_size,
            math.prod(axes.candidates),
            **_lp_options(sign, partial_window),
            **run.geometry,
        )
    return grad_x, _param_cotangent(stats["grad_p"], p, x.dtype)


# -- smooth max -----------------------------------------------------------------------------
def _smooth_run(x, beta, axes, padding_policy, x_dot=None, beta_dot=None, grad_y=None):
    x = x.contiguous()
    run = _launch(x, axes)
    y = run.empty_out()
    with_jvp, with_stats = x_dot is not None, grad_y is not None
    y_dot = run.empty_out() if with_jvp else y
    shift_stat = run.empty_out(run.compute) if with_stats else y
    lse_stat = run.empty_out(run.compute) if with_stats else y
    grad_beta = run.empty_out(run.compute) if with_stats else y
    if run.total_out:
        K.smooth_max_window_kernel[run.grid(run.total_out)](
            x,
            run.channel_table(beta),
            x_dot.contiguous() if with_jvp else x,
            run.channel_table(0.0 if beta_dot is None else beta_dot),
            grad_y.contiguous() if with_stats else x,
            y,
            y_dot,
            shift_stat,
            lse_stat,
            grad_beta,
            run.table,
            run.total_out,
            run.plane_in,
            run.plane_out,
            run.c,
            axes.window_size,
            ZERO_PAD=padding_policy == "zero",
            WITH_JVP=with_jvp,
            WITH_STATS=with_stats,
            **run.geometry,
        )
    elif with_stats:
        grad_beta.zero_()
    return run, y, y_dot, (shift_stat, lse_stat), grad_beta


def smooth_max_forward(x: torch.Tensor, beta, axes: Axes, padding_policy: str) -> torch.Tensor:
    """Smooth max pooling ``(1/beta) log sum_i exp(beta x_i)`` over every cell inside the
    padded extent, padded ones as 0 (``padding_policy="zero"``, the entry point's default)
    or over the real cells only (``"ignore"``), shifted by the window max. The policy has
    no default here: the entry point (``pooling.smooth_max_pool``) always passes it."""
    return _smooth_run(x, beta, axes, padding_policy)[1]


def smooth_max_jvp(
    x: torch.Tensor,
    beta,
    x_dot: torch.Tensor,
    beta_dot,
    axes: Axes,
    padding_policy: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth max JVP: ``(y, sum_i p_i x_dot_i + dy/dbeta beta_dot)`` with the softmax
    weights ``p_i = exp(beta (x_i - y))`` (``beta_dot`` None: 0)."""
    _, y, y_dot, _, _ = _smooth_run(x, beta, axes, padding_policy, x_dot, beta_dot)
    return y, y_dot


def smooth_max_backward(
    grad_y: torch.Tensor, x: torch.Tensor, beta, axes: Axes, padding_policy: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth max VJP: ``(grad_x, grad_beta)`` by deterministic gather."""
    run, _, _, stats, grad_beta = _smooth_run(x, beta, axes, padding_policy, grad_y=grad_y)
    grad_x = run.empty_in()
    if run.total_in:
        K.smooth_max_backward_kernel[run.grid(run.total_in)](
            x.contiguous(),
            run.channel_table(beta),
            grad_y.contiguous(),
            *stats,
            grad_x,
            run.table,
            run.total_in,
            run.plane_in,
            run.plane_out,
            run.c,
            math.prod(axes.candidates),
            **run.geometry,
        )
    return grad_x, _param_cotangent(grad_beta, beta, x.dtype)
