"""Max pooling: the largest real cell of every window.

Conventions (the spec's contract):

- padded cells are *absent* (never compared, never selected), not -inf values;
- NaN propagates: a window holding a NaN outputs NaN, and its first NaN is the
  selected cell;
- ties: the first maximizer in row-major window order wins, for the value, the
  index, the JVP and the VJP alike (one selection function serves all four);
- a window with no real cell (wholly in the padding, or between dilated taps) has
  index -1 and a zero derivative; its value is -inf (the default; see ``empty_window``);
- ``return_indices`` gives PyTorch-style indices: the flat row-major index of the
  selected cell in its ``[*S]`` plane of the (N, C) input.

Two conventions where frameworks disagree are explicit options (strings):

- ``signed_zeros`` (max and adaptive max): how ``-0.0`` and ``+0.0`` compare.
  ``"tie"`` (default, PyTorch, ONNX): they are equal, so the first zero of the window
  wins and the value keeps its sign; ``"ordered"`` (JAX's ``lax.max``, IEEE 754
  ``maximum``): ``-0.0 < +0.0``, so a window holding both selects its first ``+0.0``.
  The value, the index, the JVP and the VJP follow the same order.
- ``empty_window`` (max only; adaptive bins are never empty): the value of a window with
  no real cell. ``"-inf"`` (default, PyTorch, JAX: the max of an empty set) or
  ``"lowest"`` (ONNX Runtime: its running max starts at the lowest finite value of the
  dtype, e.g. ``-3.4028235e38`` for float32; float64's for object arrays). The index is
  -1 and the derivative zero under both (the value is a constant).

An unknown value breaks constraint C14.

Integer inputs (int8, uint8, int16, uint16, int32, uint32, int64; not bool) are taken and
give exact results in their own dtype: the value is always one of the window's cells,
compared in int64 (which holds them all). There is no -inf: a window with no real cell
(wholly in the padding, or between dilated taps) is the dtype's *minimum* under both
``empty_window`` values (-128 for int8, 0 for uint8), the identity of max in that dtype and
what ONNX's reference evaluator gives for int8 / uint8 MaxPool. ``signed_zeros`` has no
effect (integers have one zero). Integers have no derivatives: ``jvp`` and ``vjp`` of an
integer ``x`` raise a TypeError (cast to a float dtype to differentiate).

Any padding >= 0 is valid; with a padding past half the effective kernel a window can lie
wholly in the padding, and gets the empty window's value above.

Derivatives: ``y_dot = x_dot[winner]``; ``x_bar[winner] += y_bar``.
"""

from __future__ import annotations

import numpy as np

from . import numeric as nm
from .op import ADAPTIVE, Op, Option, pick
from .selection import SIGNED_ZEROS, first_maximizer, selection_rules

EMPTY_WINDOWS = ("-inf", "lowest")


def _select(w, params, call):
    return first_maximizer(w, call.real, call.options.get("signed_zeros", "tie"))


def _empty_value(w, call):
    """The value of a window with no real cell, by the ``empty_window`` option (for an
    integer dtype its minimum under both: there is no -inf)."""
    if nm.is_integer(np.empty(0, dtype=call.dtype)):
        return np.int64(nm.lowest(call.dtype))
    if call.options.get("empty_window", "-inf") == "-inf":
        return nm.const("-inf", w)
    dtype = np.dtype(np.float64) if call.dtype == object else np.dtype(call.dtype)
    return nm.const(float(np.finfo(dtype).min), w)


def _value(w, params, call):
    return pick(w, _select(w, params, call), _empty_value(w, call))


_jvp, _vjp = selection_rules(_select)


SIGNED_ZEROS_OPTION = Option("signed_zeros", "tie", SIGNED_ZEROS, convention=True)

MAX_POOL = Op(
    name="max_pool",
    empty_window=(
        "-inf (``empty_window='-inf'``, the default: the max of an empty set) or the "
        "dtype's lowest finite value (``empty_window='lowest'``); for an integer input "
        "the dtype's minimum under both (the identity of max in that dtype). Index -1; "
        "derivatives 0."
    ),
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    options=(SIGNED_ZEROS_OPTION, Option("empty_window", "-inf", EMPTY_WINDOWS, convention=True)),
    exact=True,
    select=_select,
    integers=True,
)

ADAPTIVE_MAX_POOL = Op(
    name="adaptive_max_pool",
    empty_window="Never arises: every adaptive bin holds at least one input cell.",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    options=(SIGNED_ZEROS_OPTION,),
    windows=ADAPTIVE,
    exact=True,
    select=_select,
    integers=True,
)


@MAX_POOL.defines
def max_pool(
    x,
    *,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    signed_zeros: str = "tie",
    empty_window: str = "-inf",
):
    """Max over every window; padded cells are ignored.

    ``signed_zeros`` (``"tie"`` or ``"ordered"``) and ``empty_window`` (``"-inf"`` or
    ``"lowest"``) are the conventions of the module doc.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 5.0, 5.0, 2.0, 7.0]]])          # [N=1, C=1, L=5]
    >>> max_pool(x, kernel_size=2, stride=2)                # windows [1 5] [5 2]
    array([[[5., 5.]]])
    >>> y, idx = max_pool(x, kernel_size=(3,), stride=2, padding=1, return_indices=True)
    >>> y, idx                                              # [pad 1 5] [5 5 2] [2 7 pad]
    (array([[[5., 5., 7.]]]), array([[[1, 1, 4]]]))

    The middle window holds a tie (5, 5): the first one in window order (index 1) wins.

    >>> z = np.array([[[-0.0, 0.0]]])
    >>> max_pool(z, kernel_size=2), max_pool(z, kernel_size=2, signed_zeros="ordered")
    (array([[[-0.]]]), array([[[0.]]]))
    >>> one = np.array([[[5.0]]], dtype=np.float32)      # kernel 2, dilation 2: taps -1, 1
    >>> max_pool(one, kernel_size=2, dilation=2, padding=1, empty_window="lowest")
    array([[[-3.4028235e+38]]], dtype=float32)

    Padding past half the kernel: the first window lies wholly in the padding.

    >>> max_pool(x, kernel_size=2, stride=2, padding=((2, 0),))
    array([[[-inf,   5.,   5.]]])
    >>> max_pool(np.array([[[3, -7, 2]]], dtype=np.int8), kernel_size=2, padding=((2, 1),))
    array([[[-128,    3,    2]]], dtype=int8)
    """
    return MAX_POOL.forward(
        x,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        return_indices=return_indices,
        signed_zeros=signed_zeros,
        empty_window=empty_window,
    )


@ADAPTIVE_MAX_POOL.defines
def adaptive_max_pool(x, *, output_size, return_indices: bool = False, signed_zeros: str = "tie"):
    """Max over adaptive bins ``[floor(i*L/n), ceil((i+1)*L/n))`` on every axis;
    ``signed_zeros`` as for :func:`max_pool`.

    >>> import numpy as np
    >>> x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0]]])
    >>> adaptive_max_pool(x, output_size=(3,), return_indices=True)   # bins [0,2) [1,4) [3,5)
    (array([[[3., 4., 5.]]]), array([[[0, 2, 4]]]))
    """
    return ADAPTIVE_MAX_POOL.forward(
        x, output_size=output_size, return_indices=return_indices, signed_zeros=signed_zeros
    )
