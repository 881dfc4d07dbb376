"""``torch.nn.Module`` wrappers of every functional op, for any spatial rank.

The spatial rank comes from the input (``ndim - 2`` batched, or from a sequence
``kernel_size`` / ``output_size``); the window keywords and ``extra_repr`` are shared
(:class:`_Sliding`). A module's parameters are checked when it is built, as the spec
checks them (its numbered ``ValueError``), and stay in range by construction:

- positive (Lp's ``p``, smooth max's ``beta``, ``alpha``, ``temperature``, GeM's ``p``):
  stored as ``log_<name>``, the value is ``exp(log_<name>)`` (float64, clamped to the
  finite positive range);
- in ``(0, 1)`` (``q``): stored as ``logit_q``, the value is ``sigmoid(logit_q)``
  (float64, clamped to ``[2^-53, 1 - 2^-53]``, so q = 0 or 1 is never reached);
- unconstrained (mixed's ``a``, the gate masks and leaf filters): stored as is.

A parameter is one value per layer, or one per channel when ``num_channels`` is given;
with ``learnable=False`` it is a buffer holding the value. Train / eval behaviour
follows ``self.training``. Stochastic modules draw their noise from torch's generator
(the ``generator`` argument, else the global one) and pass it to the functional op,
which takes the draw explicitly (as the spec does); ``forward`` also accepts an
explicit draw, which is then used instead.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from ndpool.spec.constraints import fail
from ndpool.spec.geometry import per_axis

from .average import adaptive_avg_pool, avg_pool
from .blends import gated_pool, mixed_pool, tree_pool
from .gem import gem_pool
from .geometry import sliding_plan
from .gumbel import gumbel_pool, sample_gumbel
from .inputs import check_values, compute_dtype, is_number
from .lp import lp_pool
from .max import adaptive_max_pool, max_pool
from .median import median_pool
from .quantile import quantile_pool
from .s3 import s3_pool, sample_s3_indices
from .smooth_max import smooth_max_pool
from .soft import soft_pool
from .stochastic import stochastic_pool


class _Sliding(nn.Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.ceil_mode = ceil_mode

    def _geometry(self) -> dict:
        return {
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "ceil_mode": self.ceil_mode,
        }

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._geometry().items())


class MaxPool(_Sliding):
    """Max pooling over any spatial rank (see :func:`ndpool.impl.max_pool`)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = return_indices

    def forward(self, x):
        return max_pool(x, return_indices=self.return_indices, **self._geometry())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", return_indices={self.return_indices}"


class AvgPool(_Sliding):
    """Average pooling over any spatial rank (see :func:`ndpool.impl.avg_pool`)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        return avg_pool(
            x,
            count_include_pad=self.count_include_pad,
            divisor_override=self.divisor_override,
            **self._geometry(),
        )

    def extra_repr(self) -> str:
        return (
            super().extra_repr()
            + f", count_include_pad={self.count_include_pad}"
            + f", divisor_override={self.divisor_override}"
        )


F64 = torch.finfo(torch.float64)


def _positive(raw: torch.Tensor) -> torch.Tensor:
    """``exp(raw)`` in float64, kept in ``[tiny, max]`` (finite and > 0 for every raw)."""
    return raw.double().exp().clamp(min=F64.tiny, max=F64.max)


def _unit(raw: torch.Tensor) -> torch.Tensor:
    """``sigmoid(raw)`` in float64, kept in ``[2^-53, 1 - 2^-53]`` (strictly inside (0, 1)
    even where the logistic rounds to 0 or 1, |raw| > ~36; the derivative is 0 there)."""
    return torch.sigmoid(raw.double()).clamp(min=F64.eps / 2, max=1 - F64.eps / 2)


#: the floor the source adds to its rectified temperature
RECTIFIED_FLOOR = 0.1


def _rectified(raw: torch.Tensor) -> torch.Tensor:
    """``relu(raw) + 0.1`` in float64: the Gumbel pooling source's positive temperature."""
    return torch.relu(raw.double()) + RECTIFIED_FLOOR


# name -> (stored name prefix, value from stored, stored from value)
CONSTRAINTS = {
    "positive": ("log_", _positive, math.log),
    "rectified": ("raw_", _rectified, lambda v: v - RECTIFIED_FLOOR),
    "unit": ("logit_", _unit, lambda v: math.log(v) - math.log1p(-v)),
    "real": ("", lambda t: t, float),
}


class _Constrained(_Sliding):
    """A sliding pool holding constrained per-channel (or per-layer) parameters."""

    _constraints: ClassVar[dict[str, str]] = {}

    def _add(self, name: str, value: float, learnable: bool, num_channels) -> None:
        prefix, _, inverse = CONSTRAINTS[self._constraints[name]]
        shape = () if num_channels is None else (num_channels,)
        if learnable:
            raw = torch.full(shape, inverse(float(value)), dtype=torch.float32)
            self.register_parameter(prefix + name, nn.Parameter(raw))
        else:
            self.register_buffer(name, torch.full(shape, float(value)))

    def constrained(self, name: str) -> torch.Tensor:
        """The parameter's value (in range by construction)."""
        prefix, forward, _ = CONSTRAINTS[self._constraints[name]]
        if prefix + name in self._parameters:
            return forward(self._parameters[prefix + name])
        return getattr(self, name)

    def _shown(self, name: str) -> str:
        v = self.constrained(name).detach()
        if v.ndim == 0:
            return f"{name}={v.item():.6g}"
        positions = f" x {tuple(v.shape[1:])} positions" if v.ndim > 1 else ""
        return f"{name}=[{v.shape[0]} channels{positions}]"

    def extra_repr(self) -> str:
        shown = ", ".join(self._shown(n) for n in self._constraints)
        learnable = any(p.requires_grad for p in self.parameters(recurse=False))
        return f"{shown}, learnable={learnable}, " + super().extra_repr()


def _draw_shape(module: _Sliding, x: torch.Tensor, cell: bool) -> tuple[int, ...]:
    geometry = module._geometry()
    plan = sliding_plan(x.shape, **geometry)
    k = (plan.window_size,) if cell else ()
    return tuple(x.shape[: x.ndim - plan.d]) + plan.spatial_out + k


def _window_size(kernel_size, dim) -> int:
    if isinstance(kernel_size, int) and dim is None:
        raise ValueError(
            "the gate mask covers the window: give kernel_size as a sequence or the spatial "
            "rank dim="
        )
    d = len(kernel_size) if dim is None else dim
    return math.prod(per_axis(kernel_size, d, "kernel_size", "C2"))


def _number(value, name: str) -> float:
    """A module's initial parameter value: a real number (C24)."""
    if not is_number(value):
        raise fail("C24", f"{name}={value!r} must be a real number")
    return float(value)


class LpPool(_Constrained):
    """Lp pooling over any spatial rank; ``p`` optionally learnable (``p = exp(log_p)``):
    one scalar ``p`` for the layer by default, one per channel with ``num_channels``.
    ``reduction="mean"`` is ``(mean_i |x_i|^p)^(1/p)`` (the quantile-pooling source's
    LpPool, with its one learnable ``p`` per layer), ``"sum"`` (default) PyTorch's sum
    form; see :func:`lp_pool`."""

    _constraints: ClassVar[dict[str, str]] = {"p": "positive"}

    def __init__(self, norm_type, kernel_size, stride=None, padding=0, dilation=1,
                 ceil_mode=False, sign="abs", learnable=False, num_channels=None,
                 reduction="sum"):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        check_values(
            "lp_pool",
            {"norm_type": _number(norm_type, "norm_type")},
            {"sign": sign, "reduction": reduction},
        )
        if learnable and math.isinf(norm_type):
            raise ValueError("LpPool(learnable=True) needs a finite norm_type (p = exp(log_p))")
        self.sign = sign
        self.reduction = reduction
        self._add("p", norm_type, learnable, num_channels)

    def value(self) -> torch.Tensor:
        """The current ``p``."""
        return self.constrained("p")

    def forward(self, x):
        return lp_pool(
            x, self.value(), sign=self.sign, reduction=self.reduction, **self._geometry()
        )

    def extra_repr(self) -> str:
        return super().extra_repr() + f", sign={self.sign!r}, reduction={self.reduction!r}"


class SmoothMaxPool(_Constrained):
    """Smooth (log-sum-exp) max pooling; ``beta > 0`` optionally learnable
    (``beta = exp(log_beta)``), per channel with ``num_channels``; padded cells are zeros
    (``padding_policy="zero"``, the spec's default) or absent (``"ignore"``)."""

    _constraints: ClassVar[dict[str, str]] = {"beta": "positive"}

    def __init__(self, kernel_size, beta=1.0, stride=None, padding=0, dilation=1,
                 ceil_mode=False, padding_policy="zero", learnable=False,
                 num_channels=None):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        check_values(
            "smooth_max_pool", {"beta": _number(beta, "beta")}, {"padding_policy": padding_policy}
        )
        self.padding_policy = padding_policy
        self._add("beta", beta, learnable, num_channels)

    def value(self) -> torch.Tensor:
        """The current ``beta``."""
        return self.constrained("beta")

    def forward(self, x):
        return smooth_max_pool(
            x, self.value(), padding_policy=self.padding_policy, **self._geometry()
        )

    def extra_repr(self) -> str:
        return super().extra_repr() + f", padding_policy={self.padding_policy!r}"


class QuantilePool(_Constrained):
    """Quantile pooling with ``q`` in (0, 1) and ``alpha`` > 0, learnable per channel
    (``q = sigmoid(logit_q)``, ``alpha = exp(log_alpha)``); see :func:`quantile_pool`."""

    _constraints: ClassVar[dict[str, str]] = {"q": "unit", "alpha": "positive"}

    def __init__(self, kernel_size, q=0.5, alpha=1.0, stride=None, padding=0, dilation=1,
                 ceil_mode=False, learnable=True, num_channels=None):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        check_values("quantile_pool", {"q": _number(q, "q"), "alpha": _number(alpha, "alpha")}, {})
        self._add("q", q, learnable, num_channels)
        self._add("alpha", alpha, learnable, num_channels)

    def forward(self, x):
        return quantile_pool(
            x, self.constrained("q"), self.constrained("alpha"), **self._geometry()
        )


class GeMPool(_Constrained):
    """GeM pooling with a positive ``p = exp(log_p)``, learnable per channel."""

    _constraints: ClassVar[dict[str, str]] = {"p": "positive"}

    def __init__(self, kernel_size, p=3.0, stride=None, padding=0, dilation=1, ceil_mode=False,
                 eps=1e-6, learnable=True, num_channels=None):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        check_values("gem_pool", {"p": _number(p, "p")}, {"eps": eps})
        self.eps = eps
        self._add("p", p, learnable, num_channels)

    def forward(self, x):
        return gem_pool(x, self.constrained("p"), eps=self.eps, **self._geometry())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", eps={self.eps}"


class MixedPool(_Constrained):
    """``sigma(a) max + (1 - sigma(a)) mean`` with a learnable mixing logit ``a``."""

    _constraints: ClassVar[dict[str, str]] = {"a": "real"}

    def __init__(self, kernel_size, a=0.0, stride=None, padding=0, dilation=1, ceil_mode=False,
                 num_channels=None):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self._add("a", a, True, num_channels)

    def forward(self, x):
        return mixed_pool(x, self.constrained("a"), **self._geometry())


class _WindowMasks(_Sliding):
    """A pool holding learnable window-shaped masks ``[K]`` or ``[C, K]``."""

    _masks: ClassVar[tuple[str, ...]] = ()

    def __init__(self, kernel_size, stride, padding, dilation, ceil_mode, num_channels, dim):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        k = _window_size(kernel_size, dim)
        self.num_channels = num_channels
        shape = (k,) if num_channels is None else (num_channels, k)
        for name in self._masks:
            self.register_parameter(name, nn.Parameter(torch.zeros(shape)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Gate masks start at 0 (``g = 1/2``)."""

    def extra_repr(self) -> str:
        shape = tuple(getattr(self, self._masks[0]).shape)
        return f"masks={self._masks}, mask_shape={shape}, " + super().extra_repr()


GATE_INITS = ("zero", "uniform")


class GatedPool(_WindowMasks):
    """``g max + (1 - g) mean``, ``g = sigma(omega . x + b)``: a learnable gate mask per layer
    (``[K]``) or per channel (``[C, K]`` with ``num_channels``), and with ``bias=True`` a
    learnable bias ``b`` (a scalar, or ``[C]`` with ``num_channels``: the source's grouped
    convolution with a bias).

    ``init="zero"`` (default) starts mask and bias at 0 (``g = 1/2``); ``init="uniform"``
    is a convolution's default initialisation, as in the source: mask and bias from
    ``U(-1/sqrt(K), 1/sqrt(K))`` (``U(-0.5, 0.5)`` for a 2x2 window)."""

    _masks = ("omega",)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 num_channels=None, dim=None, bias=False, init="zero"):  # fmt: skip
        if init not in GATE_INITS:
            raise fail("C14", f"init={init!r} must be one of {GATE_INITS}")
        self.init = init
        self._has_bias = bool(bias)
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode, num_channels, dim)

    def reset_parameters(self) -> None:
        """Mask (and bias) at 0, or from ``U(-1/sqrt(K), 1/sqrt(K))`` (``init="uniform"``)."""
        if self._has_bias and "bias" not in self._parameters:
            shape = () if self.num_channels is None else (self.num_channels,)
            self.register_parameter("bias", nn.Parameter(torch.zeros(shape)))
        bound = 1.0 / math.sqrt(self.omega.shape[-1])
        with torch.no_grad():
            for p in (self.omega, getattr(self, "bias", None)):
                if p is None:
                    continue
                if self.init == "uniform":
                    p.uniform_(-bound, bound)
                else:
                    p.zero_()

    def forward(self, x):
        return gated_pool(x, self.omega, getattr(self, "bias", None), **self._geometry())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", bias={self._has_bias}, init={self.init!r}"


class TreePool(_WindowMasks):
    """2-level tree pooling ``g v1.x + (1 - g) v2.x``, ``g = sigma(omega.x)``, learnable leaf
    filters ``v1``, ``v2`` and gate mask ``omega`` (per layer or per channel)."""

    _masks = ("v1", "v2", "omega")

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 num_channels=None, dim=None):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode, num_channels, dim)

    def reset_parameters(self) -> None:
        """Leaf filters ``N(1/K, (1/(2K))^2)`` (near the mean, distinct so the gate
        learns), gate mask 0."""
        k = self.v1.shape[-1]
        with torch.no_grad():
            for v in (self.v1, self.v2):
                v.normal_(1.0 / k, 0.5 / k)
            self.omega.zero_()

    def forward(self, x):
        return tree_pool(x, self.v1, self.v2, self.omega, **self._geometry())


class MedianPool(_Sliding):
    """Median pooling (lower middle; ``K = 2`` is min pooling)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = return_indices

    def forward(self, x):
        return median_pool(x, return_indices=self.return_indices, **self._geometry())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", return_indices={self.return_indices}"


class SoftPool(_Sliding):
    """SoftPool: the softmax-weighted sum of every window."""

    def forward(self, x):
        return soft_pool(x, **self._geometry())


class StochasticPool(_Sliding):
    """Stochastic pooling: train picks a cell with probability ``x_i / sum x`` from a
    ``Uniform[0, 1)`` draw of torch's generator (float64, one per output); eval is
    ``sum x_i^2 / sum x_i``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 generator: torch.Generator | None = None):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.generator = generator

    def draw(self, x: torch.Tensor) -> torch.Tensor:
        shape = _draw_shape(self, x, cell=False)
        return torch.rand(shape, generator=self.generator, dtype=torch.float64, device=x.device)

    def forward(self, x, u=None):
        if not self.training:
            return stochastic_pool(x, mode="eval", **self._geometry())
        u = self.draw(x) if u is None else u
        return stochastic_pool(x, u, mode="train", **self._geometry())


#: how GumbelPool stores its temperature: ``"exp"`` (``T = exp(log_temperature)``) or
#: ``"rectified"`` (the source's ``T = relu(raw_temperature) + 0.1``)
TEMPERATURE_PARAMETRIZATIONS = {"exp": "positive", "rectified": "rectified"}
TEMPERATURE_INITS = ("constant", "uniform")


class GumbelPool(_Constrained):
    """Gumbel-softmax pooling with a learnable positive temperature ``T``: one for the
    layer, one per channel (``num_channels``), or one per channel and output position
    (``num_channels`` and ``positions``, the output's spatial shape ``O``: ``T`` is
    ``[C, *O]``, the source's "parameter per pooling patch"). Train draws standard Gumbel
    noise from torch's generator and returns the sampled cell, with the hard
    straight-through derivatives; eval is ``sum_i softmax(x / T)_i x_i``, the source's
    weighted sum at inference (:func:`gumbel_pool`).

    The defaults are the source's temperature set-up. ``parametrization``:
    ``"rectified"`` (default, the source's ``T = relu(raw_temperature) + 0.1``) or
    ``"exp"`` (``T = exp(log_temperature)``). ``init``: ``"uniform"`` (default, the
    source's initialisation) multiplies each entry's start by its own ``u ~ U(0.5, 1.5)``:
    the rectified parametrization's ``raw = temperature - 0.1`` times ``u``, so the
    default ``temperature=1.1`` starts ``raw`` in ``[0.5, 1.5]`` and ``T`` in
    ``[0.6, 1.6]``, as the source does; otherwise (``"exp"``, or a fixed temperature,
    ``learnable=False``, which is stored as ``T``) ``T = temperature * u``.
    ``init="constant"`` starts every ``T`` at ``temperature`` (what a fixed temperature
    usually wants). The source's layer for ``C`` maps of ``H x W`` and a 2x2 window needs
    only the channels and the output positions::

        GumbelPool(2, num_channels=C, positions=(H // 2, W // 2))

    >>> import torch
    >>> pool = GumbelPool((2, 2), num_channels=3, positions=(2, 2))
    >>> pool.parametrization, pool.init, tuple(pool.raw_temperature.shape)
    ('rectified', 'uniform', (3, 2, 2))
    >>> t = pool.constrained("temperature")
    >>> bool(((t >= 0.6) & (t <= 1.6)).all())
    True
    >>> pool(torch.rand(1, 3, 4, 4)).shape
    torch.Size([1, 3, 2, 2])
    """

    def __init__(self, kernel_size, temperature=1.1, stride=None, padding=0, dilation=1,
                 ceil_mode=False, learnable=True, num_channels=None, positions=None,
                 parametrization="rectified", init="uniform",
                 generator: torch.Generator | None = None):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        check_values(
            "gumbel_pool",
            {"temperature": _number(temperature, "temperature"), "g": None},
            {"mode": "eval"},
        )
        if parametrization not in TEMPERATURE_PARAMETRIZATIONS:
            raise fail(
                "C14",
                f"parametrization={parametrization!r} must be one of "
                f"{tuple(TEMPERATURE_PARAMETRIZATIONS)}",
            )
        if init not in TEMPERATURE_INITS:
            raise fail("C14", f"init={init!r} must be one of {TEMPERATURE_INITS}")
        if parametrization == "rectified" and temperature <= RECTIFIED_FLOOR:
            raise ValueError(
                f"temperature={temperature} cannot start a rectified temperature "
                f"(relu(raw) + {RECTIFIED_FLOOR}): it must be above {RECTIFIED_FLOOR} "
                '(parametrization="exp" takes any positive temperature)'
            )
        if positions is not None and num_channels is None:
            raise ValueError("a temperature per output position (positions=) needs num_channels")
        self._constraints = {"temperature": TEMPERATURE_PARAMETRIZATIONS[parametrization]}
        self.parametrization, self.init = parametrization, init
        self.positions = None if positions is None else tuple(int(n) for n in positions)
        shape = () if num_channels is None else (num_channels, *(self.positions or ()))
        self._add("temperature", temperature, learnable, num_channels)
        prefix = CONSTRAINTS[self._constraints["temperature"]][0]
        stored = getattr(self, prefix + "temperature" if learnable else "temperature")
        with torch.no_grad():
            full = stored.reshape(stored.shape + (1,) * (len(shape) - stored.ndim))
            full = full.expand(shape).clone()
            if init == "uniform":
                u = torch.empty(shape).uniform_(0.5, 1.5, generator=generator)
                scaled = parametrization == "rectified" or not learnable
                full = full * u if scaled else full + u.log()  # exp: log(T u)
            stored.set_(full)
        self.generator = generator

    def draw(self, x: torch.Tensor) -> torch.Tensor:
        shape = _draw_shape(self, x, cell=True)
        dtype = compute_dtype(x.dtype)
        return sample_gumbel(shape, generator=self.generator, dtype=dtype, device=x.device)

    def forward(self, x, g=None):
        t = self.constrained("temperature")
        if not self.training:
            return gumbel_pool(x, t, mode="eval", **self._geometry())
        g = self.draw(x) if g is None else g
        return gumbel_pool(x, t, g, mode="train", **self._geometry())

    def extra_repr(self) -> str:
        return (
            super().extra_repr() + f", parametrization={self.parametrization!r}, init={self.init!r}"
        )


class S3Pool(_Sliding):
    """S3Pool: stride-1 max pooling, then (train) a random sorted ``g/stride``-subset of
    the rows of every grid on every axis, drawn from torch's generator (CPU), or (eval)
    the training output's expectation over those draws (``eval_rule="expectation"``,
    default) or the reference code's padded average by ``stride`` (``"padded"``)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, grid_size=None,
                 generator: torch.Generator | None = None,
                 eval_rule: str = "expectation"):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, False)
        check_values("s3_pool", {}, {"eval_rule": eval_rule})
        self.grid_size = grid_size
        self.generator = generator
        self.eval_rule = eval_rule

    def _s3(self) -> dict:
        cfg = self._geometry()
        cfg.pop("ceil_mode")
        return {**cfg, "grid_size": self.grid_size}

    def draw(self, x: torch.Tensor) -> torch.Tensor:
        return sample_s3_indices(tuple(x.shape), generator=self.generator, **self._s3())

    def forward(self, x, indices=None):
        if not self.training:
            return s3_pool(x, mode="eval", eval_rule=self.eval_rule, **self._s3())
        indices = self.draw(x) if indices is None else indices
        return s3_pool(x, indices, mode="train", **self._s3())

    def extra_repr(self) -> str:
        return (
            super().extra_repr() + f", grid_size={self.grid_size!r}, eval_rule={self.eval_rule!r}"
        )


class AdaptiveMaxPool(nn.Module):
    """Adaptive max pooling over any spatial rank."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, x):
        return adaptive_max_pool(
            x, output_size=self.output_size, return_indices=self.return_indices
        )

    def extra_repr(self) -> str:
        return f"output_size={self.output_size!r}, return_indices={self.return_indices}"


class AdaptiveAvgPool(nn.Module):
    """Adaptive average pooling over any spatial rank."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return adaptive_avg_pool(x, output_size=self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size!r}"
