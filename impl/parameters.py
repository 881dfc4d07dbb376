"""Per-channel parameters (Lp's p, smooth max's beta): a scalar or one value per channel.

A parameter is a Python number, a 0-d tensor or a ``[C]`` tensor (C12) and is
differentiable when it is a tensor. Its value checks (C10, C11) and the op's
option checks (C14) are the spec's own check functions; a tensor's values can
only be checked eagerly, so under ``torch.compile`` / ``torch.func`` only the
options are checked.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import torch

from ndpool.spec.constraints import fail
from ndpool.spec.registry import OPS

from .native import is_traced


@torch.compiler.assume_constant_result
def check_config(op: str, values: tuple[float, ...], options: tuple) -> bool:
    """The spec's value and option checks of ``op`` (raises its numbered ValueError).

    torch.compile runs this once in Python (the checks are NumPy code)."""
    return _check_config(op, values, options)


@functools.lru_cache(maxsize=256)
def _check_config(op: str, values: tuple[float, ...], options: tuple) -> bool:
    params = [np.asarray(values)] if values else []
    OPS[op].check(params, dict(options))
    return True


def channel_param(value, x: torch.Tensor, d: int, name: str, op: str, options: dict, dtype):
    """A Python float, or a tensor shaped to broadcast over ``[N, C, *O]``."""
    options = tuple(sorted(options.items()))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        check_config(op, (float(value),), options)
        return float(value)
    p = torch.as_tensor(value)
    channels = x.shape[1]
    if p.shape not in (torch.Size([]), torch.Size([channels])):
        raise fail("C12", f"{name} has shape {tuple(p.shape)}; expected () or ({channels},)")
    values = (1.0,) if is_traced(p) else tuple(p.detach().cpu().double().reshape(-1).tolist())
    check_config(op, values, options)
    p = p.to(device=x.device, dtype=dtype)
    return p.reshape((1, channels) + (1,) * d) if p.ndim else p
