"""torch / nan-last-wins: max pooling selects the last NaN of a window, the spec the first.

PyTorch's CPU max pooling kernels test `(val > maxval) || std::isnan(val)`, so every NaN
replaces the current one and the last NaN of the window wins. The value (NaN) agrees; the
index and the derivatives go to another cell. Both max_pool and adaptive_max_pool.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

x = np.array([[[np.nan, np.nan]]])
ct = np.ones((1, 1, 1))
same = True
for name, fn, size, ref, cfg in (
    ("max_pool", F.max_pool1d, 2, spec.max_pool, {"kernel_size": 2}),
    ("adaptive_max_pool", F.adaptive_max_pool1d, 1, spec.adaptive_max_pool, {"output_size": 1}),
):
    y, got_i = fn(torch.tensor(x), size, return_indices=True)
    _, pullback = torch.func.vjp(lambda v, fn=fn, size=size: fn(v, size), torch.tensor(x))
    (got_bar,) = pullback(torch.tensor(ct))
    want_y, want_i = ref(x, **cfg, return_indices=True)
    (want_bar,) = spec.vjp(name, (x,), ct, **cfg)
    same = same and np.array_equal(got_i.numpy(), want_i)
    same = same and np.array_equal(got_bar.numpy(), want_bar)
    print(f"{name} target: value {y.numpy().ravel()} index {got_i.numpy().ravel()}", end="")
    print(f" VJP {got_bar.numpy().ravel()}")
    print(f"{name} spec:   value {want_y.ravel()} index {want_i.ravel()} VJP {want_bar.ravel()}")
sys.exit(0 if same else 1)
