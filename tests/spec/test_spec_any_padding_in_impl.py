"""The impl takes any padding >= 0, as the spec does: windows wholly in the padding (also
every window of an axis, the padding past the input and the windows ending before it)
give the spec's values and cotangents, for every op the impl provides. (Here, beside the
spec's tests, for its valid parameters: the spec's widening is what it checks.)

Both sides compute in float64 in different orders (window sums, normalisations), a few
ulps of the window's magnitudes apart; a wrong window, divisor or cotangent is off by
O(1): rtol 1e-12 (1e-9 for the VJP, which sums a window's products) is far from both."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from spec_helpers import valid_params

from ndpool import impl, spec

CONFIGS = [
    # the only window lies in the begin padding (it ends before the input starts)
    dict(kernel_size=(2, 1), stride=(3, 1), padding=((3, 0), (0, 0))),
    dict(kernel_size=(2, 1), stride=(3, 1), padding=((3, 0), (0, 0)), dilation=(1, 2)),
    # windows of padding at both ends, overlapping ones, ceil_mode
    dict(kernel_size=(2, 2), stride=(1, 2), padding=((2, 3), (1, 2)), ceil_mode=True),
    dict(kernel_size=(3, 1), stride=(2, 1), padding=((4, 4), (0, 1)), dilation=(2, 1)),
]
OPS = [name for name, op in spec.OPS.items() if not op.adaptive and name in impl.OPS]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[f"cfg{i}" for i in range(len(CONFIGS))])
@pytest.mark.parametrize("name", OPS)
def test_impl_matches_the_spec_past_half_the_kernel(name, cfg):
    op = spec.OPS[name]
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal((2, 2, 1, 3))
    if name == "stochastic_pool":
        x = np.abs(x)
    try:
        params = valid_params(op, x, cfg, rng)
        y = op(x, *params, **cfg)
    except spec.ConstraintError as exc:  # s3_pool's grids (C21) need a longer input
        pytest.skip(f"not a valid {name} configuration: {exc}")
    xt = torch.from_numpy(x).requires_grad_(True)
    got = impl.OPS[name](xt, *[None if p is None else torch.as_tensor(p) for p in params], **cfg)
    what = f"{name} {cfg}"
    np.testing.assert_allclose(got.detach().numpy(), y, rtol=1e-12, atol=1e-14, err_msg=what)
    y_bar = rng.standard_normal(y.shape)
    (g,) = torch.autograd.grad(got, xt, torch.from_numpy(y_bar), allow_unused=True)
    want = spec.vjp(name, (x, *params), y_bar, **cfg)[0]
    g = np.zeros_like(x) if g is None else g.numpy()
    np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-12, err_msg=what + " VJP")
