"""``torch.nn.Module`` wrappers of the functional ops, for any spatial rank.

The spatial rank comes from the input (``ndim - 2`` batched, or from a
sequence ``kernel_size`` / ``output_size``). ``LpPool`` and ``SmoothMaxPool``
hold their parameter (p, beta) as a buffer, or, with ``learnable=True``, as a
parameter ``log_p`` / ``log_beta`` (p = exp(log_p) stays > 0), scalar or one
per channel (``num_channels``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .avg_pool import adaptive_avg_pool, avg_pool
from .lp_pool import lp_pool
from .max_pool import adaptive_max_pool, max_pool
from .smooth_max_pool import smooth_max_pool


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


class _Parametrised(_Sliding):
    """A sliding pool with one positive per-channel parameter stored as its log."""

    _param: str

    def __init__(self, value, learnable, num_channels, kernel_size, stride, padding, dilation,
                 ceil_mode):  # fmt: skip
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        if not value > 0:
            raise ValueError(f"{self._param} must be > 0, got {value}")
        shape = () if num_channels is None else (num_channels,)
        self.learnable = learnable
        if learnable:
            if math.isinf(value):
                raise ValueError(f"a learnable {self._param} must be finite")
            log = torch.full(shape, math.log(value), dtype=torch.float32)
            self.register_parameter("log_" + self._param, nn.Parameter(log))
        else:
            self.register_buffer(self._param, torch.full(shape, float(value)))

    def value(self) -> torch.Tensor:
        if self.learnable:
            return getattr(self, "log_" + self._param).exp()
        return getattr(self, self._param)

    def extra_repr(self) -> str:
        v = self.value().detach()
        shown = v.item() if v.ndim == 0 else f"[{v.shape[0]} channels]"
        return f"{self._param}={shown}, learnable={self.learnable}, " + super().extra_repr()


class LpPool(_Parametrised):
    """Lp pooling over any spatial rank; p optionally learnable (p = exp(log_p) > 0)."""

    _param = "p"

    def __init__(self, norm_type, kernel_size, stride=None, padding=0, dilation=1,
                 ceil_mode=False, sign="abs", learnable=False, num_channels=None):  # fmt: skip
        super().__init__(norm_type, learnable, num_channels, kernel_size, stride, padding,
                         dilation, ceil_mode)  # fmt: skip
        self.sign = sign

    def forward(self, x):
        return lp_pool(x, self.value(), sign=self.sign, **self._geometry())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", sign={self.sign!r}"


class SmoothMaxPool(_Parametrised):
    """Smooth (log-sum-exp) max pooling; beta optionally learnable, per channel, > 0."""

    _param = "beta"

    def __init__(self, kernel_size, beta=1.0, stride=None, padding=0, dilation=1,
                 ceil_mode=False, padding_policy="ignore", learnable=False,
                 num_channels=None):  # fmt: skip
        super().__init__(beta, learnable, num_channels, kernel_size, stride, padding, dilation,
                         ceil_mode)  # fmt: skip
        self.padding_policy = padding_policy

    def forward(self, x):
        return smooth_max_pool(
            x, self.value(), padding_policy=self.padding_policy, **self._geometry()
        )

    def extra_repr(self) -> str:
        return super().extra_repr() + f", padding_policy={self.padding_policy!r}"


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
