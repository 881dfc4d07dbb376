"""Max pooling: the largest real cell of every window.

Conventions (the spec's contract):

- padded cells are *absent* (never compared, never selected), not -inf values;
- NaN propagates: a window holding a NaN outputs NaN, and its first NaN is the
  selected cell;
- ties: the first maximizer in row-major window order wins, for the value, the
  index, the JVP and the VJP alike (one selection function serves all four);
- a window with no real cell (possible with dilation) is -inf with index -1 and
  a zero derivative;
- ``return_indices`` gives PyTorch-style indices: the flat row-major index of the
  selected cell in its ``[*S]`` plane of the (N, C) input.

Derivatives: ``y_dot = x_dot[winner]``; ``x_bar[winner] += y_bar``.
"""

from __future__ import annotations

from .numeric import neg_inf_like
from .selection import first_maximizer, selection_rules
from .window_op import WindowOp, pick


def _select(w, params, call):
    return first_maximizer(w, call.real)


def _value(w, params, call):
    return pick(w, _select(w, params, call), neg_inf_like(w))


_jvp, _vjp = selection_rules(_select)


MAX_POOL = WindowOp(
    name="max_pool",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    exact=True,
    select=_select,
)

ADAPTIVE_MAX_POOL = WindowOp(
    name="adaptive_max_pool",
    value=_value,
    jvp_rule=_jvp,
    vjp_rule=_vjp,
    adaptive=True,
    exact=True,
    select=_select,
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
):
    """Max over every window; padded cells are ignored.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 5.0, 5.0, 2.0, 7.0]]])          # [N=1, C=1, L=5]
    >>> max_pool(x, kernel_size=2, stride=2)                # windows [1 5] [5 2]
    array([[[5., 5.]]])
    >>> y, idx = max_pool(x, kernel_size=(3,), stride=2, padding=1, return_indices=True)
    >>> y, idx                                              # [pad 1 5] [5 5 2] [2 7 pad]
    (array([[[5., 5., 7.]]]), array([[[1, 1, 4]]]))

    The middle window holds a tie (5, 5): the first one in window order (index 1) wins.
    """
    return MAX_POOL.forward(
        x,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        return_indices=return_indices,
    )


@ADAPTIVE_MAX_POOL.defines
def adaptive_max_pool(x, *, output_size, return_indices: bool = False):
    """Max over adaptive bins ``[floor(i*L/n), ceil((i+1)*L/n))`` on every axis.

    >>> import numpy as np
    >>> x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0]]])
    >>> adaptive_max_pool(x, output_size=(3,), return_indices=True)   # bins [0,2) [1,4) [3,5)
    (array([[[3., 4., 5.]]]), array([[[0, 2, 4]]]))
    """
    return ADAPTIVE_MAX_POOL.forward(x, output_size=output_size, return_indices=return_indices)
