"""torch / lp-derivative-at-zero: lp_pool's derivatives at zero cells and zero windows.

The spec's derivative is 0 at a zero cell and in a window whose value y is 0 (its rule 1),
except at p = 1, where y is sum pooling and the derivative is 1 everywhere (rule 2). torch
differentiates its formula (sign(s) * relu(|s|) * K) ** (1/p), s = avg_pool(x ** p), as
written: relu zeroes the gradient of a window whose power sum s is 0 (the "gradient is set to
zero" of its docs) but x ** p and s ** (1/p) keep their infinite slopes at 0. With a tangent /
cotangent of ones (kernel 2, float64):

- a zero cell of a non-zero window, p < 1 ([0, 1], p = 0.5): its slope is inf (VJP [inf, 1],
  JVP inf), the spec's 0 (VJP [0, 1], JVP 1);
- a window of zeros, p < 1 ([0, 0], p = 0.5): VJP NaN (0 * inf in x ** p), JVP 0; spec 0;
- a window of zeros, p > 1 ([0, 0], p = 2): VJP 0, JVP NaN (inf * 0 in s ** (1/p)); spec 0;
- a signed window summing to 0 ([1, -1], p = 3): VJP 0, JVP NaN; spec 0;
- p = 1 and a window summing to 0 ([0, 0]): VJP [0, 0] and JVP 0 (relu), spec 1 per cell
  (VJP [1, 1], JVP 2). Zero cells of non-zero windows agree for p >= 1.

Registered in conformance/targets/deviations/torch.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec

CASES = (
    ([0.0, 1.0], 0.5),
    ([0.0, 0.0], 0.5),
    ([0.0, 0.0], 2.0),
    ([1.0, -1.0], 3.0),
    ([0.0, 0.0], 1.0),
)
same = True
for cells, p in CASES:
    x = np.array([[cells]])
    cfg = dict(kernel_size=2, sign="signed", partial_window="rescaled")
    y, pullback = torch.func.vjp(lambda v, p=p: F.lp_pool1d(v, p, 2), torch.tensor(x))
    (got_bar,) = pullback(torch.ones_like(y))
    _, got_dot = torch.func.jvp(
        lambda v, p=p: F.lp_pool1d(v, p, 2), (torch.tensor(x),), (torch.ones_like(torch.tensor(x)),)
    )
    (want_bar, _) = spec.vjp("lp_pool", (x, np.array(p)), np.ones((1, 1, 1)), **cfg)
    _, want_dot = spec.jvp("lp_pool", (x, np.array(p)), (np.ones_like(x), np.array(0.0)), **cfg)
    ok = np.array_equal(got_bar.numpy(), want_bar) and np.array_equal(got_dot.numpy(), want_dot)
    same = same and ok
    print(
        f"x = {cells}, p = {p}: target VJP {got_bar.numpy().ravel()} JVP {got_dot.numpy().ravel()}"
    )
    print(f"x = {cells}, p = {p}: spec   VJP {want_bar.ravel()} JVP {want_dot.ravel()}")
sys.exit(0 if same else 1)
