"""``torch.func.vmap`` through the kernels: vmapped dimensions folded into the channel axis.

A Triton kernel reads a tensor's storage, so it cannot take one of torch.func's
``BatchedTensor`` wrappers: the batch dimension would be stripped with the wrapper and
the kernel would pool one sample (``torch.func.jacrev``, a vmapped VJP, gave every row of
the Jacobian the first row's values). Every op pools each ``(n, c)`` plane on its own,
with per-channel parameters, so ``B`` vmapped copies of an ``[N, C, *S]`` problem are one
``[N, B*C, *S]`` problem: the vmapped dimensions (one per vmap level, outer level first)
are moved next to the channel axis and folded into it, a per-channel parameter is
repeated over them (``[B*C]``), one launch computes every sample, and the outputs are
split again and wrapped at their levels.

Arguments carry a role, one letter each:

- ``x``: an ``[N, C, *S]`` tensor (input, tangent, cotangent, saved index);
- ``c``: a per-channel parameter (``p``, ``beta`` or a tangent of one): a 0-d or ``[C]``
  tensor, a number, or None;
- ``.``: anything else (geometry, options), passed through.

Two places use the fold: :func:`vmap_rule` is the ``vmap`` staticmethod of the autograd
Functions (the forward under ``vmap``, ``jacfwd``'s forward; it calls the Function again
on the folded tensors, so transforms below the vmap differentiate it as usual), and
:func:`run_rule` runs a launcher for a ``backward`` or ``jvp`` rule, where the tensors
arrive wrapped (``jacrev``'s pullback runs under ``vmap``, ``jacfwd``'s tangents are
batched). Nested vmap levels fold together. A derivative of a rule (the rules are
kernels, not differentiable) is refused with ``NotImplementedError``.

>>> import torch
>>> from ndpool.impl.triton.batching import fold
>>> x = torch.arange(12.0).reshape(3, 1, 2, 2)          # [B=3] over [N=1, C=2, S=2]
>>> p = torch.tensor([1.0, 2.0])                         # [C], not batched
>>> (xf, pf), channels = fold((x, p), "xc", [(0,), (None,)], (3,))
>>> tuple(xf.shape), pf.tolist(), channels
((1, 6, 2), [1.0, 2.0, 1.0, 2.0, 1.0, 2.0], 2)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch._C import _functorch as _ft
from torch._C._functorch import TransformType
from torch._functorch import pyfunctorch

NESTED = (
    "ndpool.impl.triton: the kernels' JVP and VJP rules are not differentiable; "
    "a derivative of a derivative (nested torch.func transforms) is not supported"
)


LEGACY = (
    "ndpool.impl.triton: the legacy vmap of torch._vmap_internals (gradcheck's "
    "check_batched_grad and check_batched_forward_grad) is not supported; "
    "torch.func.vmap is"
)


def refuse_legacy(tensors: Sequence) -> None:
    """``NotImplementedError`` for a tensor of the deprecated ``torch._vmap_internals``
    vmap, which has no wrapper to take off: a kernel would meet it as storage it cannot
    read."""
    if any(isinstance(t, torch.Tensor) and _ft.is_legacy_batchedtensor(t) for t in tensors):
        raise NotImplementedError(LEGACY)


def _to_front(t: torch.Tensor, dims: Sequence[int | None], sizes: Sequence[int]):
    """``t`` with its batch dimensions (``dims[j]``: the position of level ``j``'s, None
    where ``t`` is not batched there) moved to the front in level order and expanded to
    ``sizes``."""
    batched = [(j, d) for j, d in enumerate(dims) if d is not None]
    t = t.movedim([d for _, d in batched], list(range(len(batched))))
    for j, d in enumerate(dims):
        if d is None:
            t = t.unsqueeze(j)
    return t.expand(*sizes, *t.shape[len(sizes) :])


def fold(args: Sequence, roles: str, dims: Sequence, sizes: Sequence[int], param_dtype=None):
    """``(args, C)``: ``args`` with the vmapped dimensions (``dims[i]``: one position or None
    per level for argument ``i``; ``sizes``: the levels' batch sizes) folded into the
    channel axis: an ``x`` argument ``[N, B*C, *S]``, a ``c`` tensor ``[B*C]`` (in
    ``param_dtype`` if given), ``B = prod(sizes)``; ``C`` is the channel count."""
    k = len(sizes)
    first = roles.index("x")
    x, x_dims = args[first], {d for d in dims[first] if d is not None}
    channels = [n for i, n in enumerate(x.shape) if i not in x_dims][1]
    out = []
    for a, role, d in zip(args, roles, dims):
        if role == "x":
            t = _to_front(a, d, sizes).movedim(k, 0)  # [N, *sizes, C, *S]
            a = t.reshape(t.shape[0], math.prod(sizes) * channels, *t.shape[k + 2 :])
        elif role == "c" and a is not None:
            if not isinstance(a, torch.Tensor):  # a number: the same for every sample
                a, d = torch.tensor(a, dtype=torch.float64, device=x.device), (None,) * k
            t = _to_front(a, d, sizes)
            if t.dim() == k:  # a 0-d parameter: one value for every channel
                t = t.unsqueeze(-1)
            a = t.expand(*sizes, channels).reshape(-1)
            a = a if param_dtype is None else a.to(param_dtype)
        out.append(a)
    return out, channels


def vmap_rule(function, info, in_dims, args: Sequence, roles: str):
    """The ``vmap`` staticmethod of an autograd Function whose outputs are all ``[N, C,
    *O]``: the Function applied once to the folded arguments (under the transforms below
    this vmap level), its outputs split as ``[N, B, C, *O]`` (batch dimension 1)."""
    dims = [(d,) if r != "." else (None,) for d, r in zip(in_dims, roles)]
    folded, channels = fold(args, roles, dims, (info.batch_size,))
    out = function.apply(*folded)
    if isinstance(out, tuple):
        return tuple(o.unflatten(1, (info.batch_size, channels)) for o in out), (1,) * len(out)
    return out.unflatten(1, (info.batch_size, channels)), 1


def _unwrap(t):
    """The plain tensor under torch.func's wrappers and ``{level: position}`` of its
    vmapped dimensions in it."""
    dims: dict[int, int] = {}
    while isinstance(t, torch.Tensor) and _ft.is_functorch_wrapped_tensor(t):
        if _ft.is_batchedtensor(t):
            level, bdim = _ft.maybe_get_level(t), _ft.maybe_get_bdim(t)
            dims = {lv: p + (p >= bdim) for lv, p in dims.items()}
            dims[level] = bdim
        t = _ft.get_unwrapped(t)
    return t, dims


def _saved_at(t, level: int) -> bool:
    """Whether ``t`` (a tensor the Function saved) is wrapped, alive, at ``level``: the
    Function was applied under the transform of that level."""
    while isinstance(t, torch.Tensor) and _ft.is_functorch_wrapped_tensor(t):
        if not _ft.is_batchedtensor(t) and _ft.maybe_get_level(t) == level:
            return not _ft.is_dead_tensor_wrapper(t)
        t = _ft.get_unwrapped(t)
    return False


def _check_not_nested(rule: str, stack, saved) -> None:
    """Refuse a rule whose result a transform would differentiate. Under ``vmap`` levels
    only, a rule is batched, not differentiated. A rule may also run under its own
    transform, the top of the stack: ``torch.func.jvp`` for a ``jvp`` rule,
    ``torch.func.grad`` / ``vjp`` for a ``backward`` rule, the transform the Function was
    applied under (``saved``, a tensor the Function saved, is wrapped at its level; a
    pullback called under a later transform sees it dead). Any other derivative transform
    on the stack differentiates the rule."""
    others = [i for i in stack if i.key() != TransformType.Vmap]
    if not others:
        return
    kind = TransformType.Grad if rule == "backward" else TransformType.Jvp
    top = stack[-1]
    if others == [top] and top.key() == kind and _saved_at(saved, top.level()):
        return
    raise NotImplementedError(NESTED)


class _Undifferentiable(torch.autograd.Function):
    """The identity on a rule's outputs, its backward an error: where grad mode is on and
    an argument of the rule requires grad (a ``create_graph`` backward, or a torch.func
    derivative of a tensor that requires grad), a second derivative by eager autograd
    would otherwise take the rule's outputs for constants. The tracked arguments are
    inputs, so that such a backward reaches this node (``once_differentiable`` leaves
    them out, and autograd then reports them unused)."""

    @staticmethod
    def forward(ctx, count: int, *tensors):
        return tuple(t.view_as(t) for t in tensors[:count])

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError(NESTED)


def _undifferentiable(outputs: tuple, plain: Sequence) -> tuple:
    """``outputs`` of a rule (plain tensors, outside torch.func's transforms) through
    :class:`_Undifferentiable` where a second derivative could reach them."""
    tracked = [a for a in plain if isinstance(a, torch.Tensor) and a.requires_grad]
    if not (torch.is_grad_enabled() and tracked):
        return outputs
    return _Undifferentiable.apply(len(outputs), *outputs, *tracked)


def run_rule(launcher: Callable, rule: str, args: Sequence, roles: str, out_roles: str, saved):
    """``launcher(*args)`` for a ``backward`` or ``jvp`` rule (``rule``; ``saved``: a tensor
    the Function saved, see :func:`_check_not_nested`), on plain tensors outside
    torch.func's transforms, with the arguments' vmapped dimensions folded into
    the channel axis and the outputs (roles ``out_roles``: ``x``, or ``c`` for the
    cotangent of the first ``c`` argument) wrapped back at their vmap levels. Wrappers of
    the rule's own derivative transform are dropped: torch.func lifts the plain result."""
    refuse_legacy(args)
    stack = pyfunctorch.retrieve_all_functorch_interpreters()
    _check_not_nested(rule, stack, saved)
    sizes = {i.level(): i.batch_size() for i in stack if i.key() == TransformType.Vmap}
    plain, where = [], []
    for a in args:
        t, dims = _unwrap(a)
        plain.append(t)
        where.append(dims)
    levels = sorted(lv for lv in sizes if any(lv in d for d in where))
    if not levels:
        with pyfunctorch.temporarily_clear_interpreter_stack():
            out = launcher(*plain)
            outs = _undifferentiable(out if isinstance(out, tuple) else (out,), plain)
        return outs if isinstance(out, tuple) else outs[0]
    dims = [tuple(d.get(lv) for lv in levels) for d in where]
    batch = tuple(sizes[lv] for lv in levels)
    at_c = roles.find("c")
    param = plain[at_c] if at_c >= 0 else None
    # the first parameter as the rule sees it: its dtype, and 0-d or [C]
    per_channel = isinstance(param, torch.Tensor) and param.dim() - len(where[at_c]) == 1
    dtype = param.dtype if isinstance(param, torch.Tensor) else plain[0].dtype
    wide = torch.float64 if "c" in out_roles else None  # per-sample sums, rounded once
    with pyfunctorch.temporarily_clear_interpreter_stack():  # plain tensors stay plain
        folded, channels = fold(plain, roles, dims, batch, param_dtype=wide)
        out = launcher(*folded)
        outs = out if isinstance(out, tuple) else (out,)
        split = []
        for o, role in zip(outs, out_roles):
            if role == "x":
                split.append((o.unflatten(1, (*batch, channels)), 1))
            else:
                o = o.reshape(*batch, channels)
                split.append(((o if per_channel else o.sum(-1)).to(dtype), 0))
        guarded = _undifferentiable(tuple(o for o, _ in split), plain)
    wrapped = []
    for o, (_, at) in zip(guarded, split):
        for lv in levels:
            o = _ft._add_batch_dim(o, at, lv)
        wrapped.append(o)
    return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]
