"""torch-compile / max-vjp-transposed-input: the compiled VJP of max pooling, on an input
whose spatial axes are laid out in reversed memory order, sends the cotangent to another
cell than the window's maximum (eager torch and the spec send it to the maximum).

x of shape [1, 1, 2, 5] holding 0..9 once each, stored transposed (strides (10, 10, 1, 2)),
kernel (2, 3), dilation (1, 2): one window, whose maximum 9 stands at row-major index 7;
the compiled gradient is 1 at index 5 instead.

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

CFG = dict(kernel_size=(2, 3), dilation=(1, 2))
x = np.array([8.0, 4.0, 7.0, 0.0, 1.0, 2.0, 5.0, 9.0, 6.0, 3.0]).reshape(1, 1, 2, 5)
t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 1, 3, 2))).transpose(2, 3)
assert t.stride() == (10, 10, 1, 2) and np.array_equal(t.numpy(), x)


def grad(fn):
    a = t.detach().clone().requires_grad_(True)
    y = fn(a)
    (g,) = torch.autograd.grad(y, [a], torch.ones_like(y))
    return g.numpy().ravel()


def pool(a):
    return F.max_pool2d(a, **CFG)


got = grad(torch.compile(pool, dynamic=False))
eager = grad(pool)
want = spec.vjp("max_pool", (x,), np.ones((1, 1, 1, 1)), **CFG)[0].ravel()
print("compiled:", got, "\neager:   ", eager, "\nspec:    ", want)
sys.exit(0 if np.array_equal(got, want) else 1)
