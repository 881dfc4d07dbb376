"""torch-compile / max-window-without-real-cell-index: a max window of padded cells only gets as
index the flat index of its first (padded) position, and its VJP fails.

A 1x1 plane, kernel 2, dilation 2, padding 1: the one window reads positions (-1, -1), (-1, 1),
(1, -1), (1, 1), all padding. The value (-inf) agrees with the spec; the index is
(-1) * 1 + (-1) = -2 where the spec gives -1 (in 1-d the first position, -1, happens to be the
spec's -1), and the compiled VJP, which scatters the cotangent at that index with a bounds
check, raises "index -2 is out of bounds" where the spec's gradient is 0. In 3-d the VJP runs
eager's kernel, which writes out of bounds: the skip entry max-window-without-real-cell.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[[1.0]]]])
cfg = dict(kernel_size=2, dilation=2, padding=1)
y, index = torch.compile(lambda t: F.max_pool2d(t, **cfg, return_indices=True), dynamic=False)(
    torch.tensor(x)
)
want_y, want_index = spec.max_pool(x, **cfg, return_indices=True)

xt = torch.tensor(x, requires_grad=True)
yt = torch.compile(lambda t: F.max_pool2d(t, **cfg), dynamic=False)(xt)
try:
    (grad,) = torch.autograd.grad(yt, xt, torch.full_like(yt, 5.0))
    grad = grad.numpy()
except Exception as exc:
    grad = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
(want_grad,) = spec.vjp("max_pool", (x,), np.full(want_y.shape, 5.0), **cfg)
same = (
    np.array_equal(y.numpy(), want_y)
    and np.array_equal(index.numpy(), want_index)
    and isinstance(grad, np.ndarray)
    and np.array_equal(grad, want_grad)
)

print("target:", y.numpy().ravel(), "index", index.numpy().ravel(), "VJP", grad)
print("spec:  ", want_y.ravel(), "index", want_index.ravel(), "VJP", want_grad.ravel())
sys.exit(0 if same else 1)
