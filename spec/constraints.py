"""The numbered constraints every pooling configuration must satisfy.

Each constraint has a stable identifier (``C1``, ``C2``, ...). The code that
enforces a constraint raises :class:`ConstraintError` (a ``ValueError``) whose
message starts with the identifier and names the offending values, e.g.::

    C8: output extent 0 on axis 0: input 2 + padding (0, 0) is shorter than the
    effective kernel 3 (kernel 3, dilation 1)

The table :data:`CONSTRAINTS` is the single source for the documentation and
for the one-negative-test-per-constraint meta-tests.

:data:`CAPABILITY_LIMITS` names limits that are *not* constraints of the spec: the spec
accepts what they exclude, but some frameworks do not, so a conformance target may
declare one (``Capabilities.padding_limit``) and is then never given a configuration
past it. ``C6`` was the spec's own padding limit until the spec took any padding >= 0
(ONNX and TensorFlow's explicit paddings do); its id is kept for the limit.
"""

from __future__ import annotations

import numpy as np

CONSTRAINTS: dict[str, str] = {
    "C1": (
        "The input has rank d+1 (unbatched [C, *S]) or d+2 (batched [N, C, *S]) with a "
        "spatial rank d >= 1. d is the length of kernel_size / output_size when given as "
        "a sequence, otherwise ndim - 2 (an integer kernel_size means a batched input)."
    ),
    "C2": "kernel_size is a positive integer or a sequence of d positive integers.",
    "C3": (
        "stride is a positive integer or a sequence of d positive integers (default: kernel_size)."
    ),
    "C4": "dilation is a positive integer or a sequence of d positive integers.",
    "C5": (
        "padding is a non-negative integer, d non-negative integers, d (begin, end) pairs of "
        'non-negative integers, or one of "valid", "same", "same_lower". Any amount is valid: '
        "a window may lie wholly in the padding (an empty window: what it gives is stated "
        "by every op, Op.empty_window)."
    ),
    "C7": "Every spatial extent of the input is at least 1 (N = 0 and C = 0 are allowed).",
    "C8": "Every spatial extent of the output is at least 1.",
    "C9": "output_size (adaptive pooling) is d entries, each a positive integer or None.",
    "C10": "norm_type p is > 0 and not NaN; p = inf is allowed with sign='abs' only.",
    "C11": "beta (smooth max) is finite and > 0.",
    "C12": "A per-channel parameter is a scalar or has shape [C].",
    "C13": "divisor_override, when given, is a non-zero integer.",
    "C14": (
        "An enumerated option takes one of its documented values: lp_pool sign ('abs', "
        "'signed') and partial_window ('sum', 'rescaled'); max_pool / adaptive_max_pool "
        "signed_zeros ('tie', 'ordered'); max_pool empty_window ('-inf', 'lowest'); "
        "avg_pool empty_window_derivative ('zero', 'nan'); smooth_max_pool padding_policy; "
        "the poolers' mode."
    ),
    "C15": (
        "A window-shaped parameter (gate mask, tree leaf filters) has shape [K] (per layer) or "
        "[C, K] (per channel), K the number of window cells in row-major order."
    ),
    "C16": (
        "An explicit random draw has its documented shape: one per output position "
        "[N, C, *O], or one per window cell [N, C, *O, K] (no N when unbatched); it is "
        'required with mode="train".'
    ),
    "C17": "quantile_pool: q is in the open interval (0, 1) and alpha is finite and > 0.",
    "C18": (
        "stochastic_pool: x is finite and >= 0 (the cell probabilities are x_i / sum x); "
        "the uniform draw u is in [0, 1)."
    ),
    "C19": (
        "gumbel_pool: the temperature is finite and > 0; the Gumbel noise g is finite "
        "(soft_pool has no parameter)."
    ),
    "C20": "gem_pool: p is finite and > 0; eps is finite and >= 0.",
    "C21": (
        "s3_pool: stride divides grid_size on every axis, every grid keeps at least "
        "grid_size/stride cells of the stride-1 max-pooled map, and the sampled indices "
        "lie in their grids, strictly increasing within each grid."
    ),
    "C22": (
        "A flag (ceil_mode, count_include_pad, return_indices) is a bool: True or False "
        "(NumPy's bool_ too), never a string, a number or None."
    ),
    "C23": (
        "A shape given to output_shape is a sequence of non-negative integers (NumPy's "
        "integer types too), never floats."
    ),
    "C24": (
        "An array input other than x (a parameter such as p, beta, q, alpha, a gate mask, "
        "a random draw) holds real numbers: a Python or NumPy real number or an array of "
        "real (floating or integer) numbers; not a string, a bool, a complex number or None "
        "where the input is required."
    ),
}


#: Limits a target may declare (never raised by the spec: every configuration past them is
#: valid, e.g. a window wholly in padding, whose value each op states as ``Op.empty_window``)
CAPABILITY_LIMITS: dict[str, str] = {
    "C6": (
        "padding_limit='half_kernel': each padding amount (begin and end, every axis) is at "
        "most half the effective kernel, floor((dilation*(kernel-1)+1)/2), so every window "
        "reads at least one input cell when there is no dilation. PyTorch's pooling imposes "
        "it (checking kernel/2, ignoring dilation); the spec accepts any padding >= 0."
    ),
}

#: the constraints on a value's type: breaking one raises an error that is a ``TypeError``
#: as well as a ``ValueError`` (:class:`ConstraintTypeError`)
TYPE_CONSTRAINTS = ("C22", "C23", "C24")


class ConstraintError(ValueError):
    """A configuration breaks a numbered constraint: the message starts with its id,
    ``.constraint`` holds it. (No constructor of its own, so that torch.compile can trace
    the checks that raise it.)"""

    @property
    def constraint(self) -> str:
        return str(self.args[0]).split(":", 1)[0]


class ConstraintTypeError(ConstraintError, TypeError):
    """A value of the wrong type (a flag that is not a bool, a float shape, a string
    parameter): a :class:`ConstraintError` that is also a ``TypeError``."""


def fail(constraint: str, message: str) -> ConstraintError:
    """Build the error for ``constraint`` (callers write ``raise fail(...)``)."""
    if constraint not in CONSTRAINTS:
        raise KeyError(f"unknown constraint id {constraint!r}")
    cls = ConstraintTypeError if constraint in TYPE_CONSTRAINTS else ConstraintError
    return cls(f"{constraint}: {message}")


def is_flag(value) -> bool:
    """A bool in the strict sense of C22: ``True``, ``False`` or NumPy's ``bool_``."""
    return isinstance(value, (bool, np.bool_))


def check_flag(name: str, value) -> None:
    """C22: ``value`` is a bool."""
    if not is_flag(value):
        raise fail("C22", f"{name}={value!r} must be True or False, not {type(value).__name__}")
