"""torch-compile / max-index-of-neg-inf-window: a max window whose real cells are all -inf and
whose first position is padding gets that padded position's index, and its VJP fails.

Kernel 3, dilation 2, padding 1 over [1, -inf, 1]: the window reads positions -1, 1, 3, of
which cell 1 only is real. The value (-inf) agrees; the compiled argmax takes the first of the
tied -inf (the padded position -1), where the spec (and eager torch) give the first real -inf
cell, 1. The compiled VJP scatters the cotangent at index -1 with a bounds check: "index -1 is
out of bounds". (In 2-d the flat index of a padded position can be another row's real cell,
which then gets the cotangent; in 3-d eager's backward writes it out of bounds: the skip entry
max-neg-inf-window-3d-vjp.)

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[1.0, -np.inf, 1.0]]])
cfg = dict(kernel_size=3, dilation=2, padding=1)
y, index = torch.compile(lambda t: F.max_pool1d(t, **cfg, return_indices=True), dynamic=False)(
    torch.tensor(x)
)
want_y, want_index = spec.max_pool(x, **cfg, return_indices=True)

xt = torch.tensor(x, requires_grad=True)
yt = torch.compile(lambda t: F.max_pool1d(t, **cfg), dynamic=False)(xt)
try:
    (grad,) = torch.autograd.grad(yt, xt, torch.full_like(yt, 5.0))
    grad = grad.numpy()
except Exception as exc:
    grad = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
(want_grad,) = spec.vjp("max_pool", (x,), np.full(want_y.shape, 5.0), **cfg)
same = (
    np.array_equal(index.numpy(), want_index)
    and isinstance(grad, np.ndarray)
    and np.array_equal(grad, want_grad)
)

print("target:", y.numpy().ravel(), "index", index.numpy().ravel(), "VJP", grad)
print("spec:  ", want_y.ravel(), "index", want_index.ravel(), "VJP", want_grad.ravel())
sys.exit(0 if same else 1)
