"""The adjoint identity <JVP(v), u> = <v, VJP(u)> for every op in spec.OPS (float64).

The ops are taken from the registry, so a newly registered op is covered (or
fails here until its inputs can be generated).

Tolerance. Both sides are the same double sum ``sum_(o,k) u_o J_ok v_k`` over the
``n`` nonzero entries of the Jacobian ``J`` (``k`` runs over every differentiable
input entry, parameters included), evaluated in two orders. The JVP and VJP of
an op compute each partial ``J_ok`` with the same code, so the two sides differ
only by the rounding of the products and sums. Each side is within
``gamma_(n+2) * S`` of the exact sum, ``S = sum |u_o| |J_ok| |v_k|`` and
``gamma_m = m u / (1 - m u)`` (Higham, Accuracy and Stability, 3.1/3.5), so::

    |<JVP(v), u> - <v, VJP(u)>| <= 2 gamma_(n+2) S.

``S`` is computed from the columns of ``J`` (one JVP per basis tangent, exact:
one nonzero term each), which is why the shapes are small.
"""

from __future__ import annotations

import numpy as np
import pytest
from spec_helpers import random_adaptive_config, random_sliding_config, ulps

from ndpool import spec
from ndpool.spec import ConstraintError

CASES = 8
OPTION_VARIANTS = {
    "sign": ["abs", "signed"],
    "padding_policy": ["ignore", "zero"],
    "count_include_pad": [True, False],
    "divisor_override": [None, None, 3, -2],
}
CHANNEL_VALUES = (2.0, 0.5, 1.5, 3.0, 0.3, 0.7)  # scalar parameters (p, beta, q, ...)


def _specs(op):
    specs = getattr(op, "input_specs", None)
    if specs is not None:
        return list(specs)
    return [
        type("S", (), {"name": n, "kind": "x" if i == 0 else "channel"})
        for i, n in enumerate(op.inputs)
    ]


def _differentiable(s) -> bool:
    return getattr(s, "differentiable", True)


class _NoGenerator(Exception):
    """An input kind this test cannot draw (and the op has no sampler for)."""


def _draw(op, rng, d, positive):
    """Random primals and config for ``op`` (may break a constraint)."""
    spatial, cfg = (random_adaptive_config if op.adaptive else random_sliding_config)(
        rng, d, spatial_max=4 if d < 3 else 3
    )
    for key, variants in OPTION_VARIANTS.items():
        if key in op.option_defaults:
            cfg[key] = variants[rng.integers(len(variants))]
    n, c = (1, 2) if d < 3 else (1, 1)
    x = rng.integers(-2, 3, (n, c, *spatial)).astype(np.float64)  # ties and zeros
    if rng.random() < 0.5:
        x = x + 0.25 * rng.standard_normal(x.shape)
    if positive:
        x = np.abs(x) + 0.5
    out = spec.output_shape(op.name, x.shape, **cfg)
    primals = [x]
    for s in _specs(op)[1:]:
        kind = s.kind
        sampler = getattr(s, "sampler", None)
        if getattr(s, "optional", False) and rng.random() < 0.5:
            primals.append(None)
        elif sampler is not None:  # the op's own generator of valid draws / indices
            primals.append(sampler(rng, x.shape, **cfg))
        elif kind in ("channel", "position"):
            v = CHANNEL_VALUES[rng.integers(len(CHANNEL_VALUES))]
            forms = ((), (c,)) + (((c, *out[2:]),) if kind == "position" else ())
            shape = forms[rng.integers(len(forms))]
            primals.append(np.float64(v) if not shape else rng.uniform(0.3, 3.0, shape))
        elif kind == "window":
            primals.append(rng.uniform(0.1, 0.9, op.geometry(x.shape, **cfg).window_size))
        elif kind == "output":
            primals.append(rng.uniform(0.0, 1.0, out))
        elif kind == "cell":
            primals.append(rng.standard_normal((*out, op.geometry(x.shape, **cfg).window_size)))
        else:
            raise _NoGenerator(kind)
    return primals, cfg


def _build(op, rng, d, positive):
    """Random primals and config for ``op``: ``(primals, cfg)`` or None if invalid."""
    try:
        primals, cfg = _draw(op, rng, d, positive)
        y = op.forward(*primals, **cfg)
    except (ConstraintError, _NoGenerator):
        return None
    return (primals, cfg) if np.isfinite(y).all() else None


def _jacobian_columns(op, primals, cfg, diff):
    """The Jacobian column (a JVP with a basis tangent) of every differentiable entry."""
    zeros = [None if p is None else np.zeros_like(p) for p in primals]
    cols = []
    for i, p in enumerate(primals):
        if p is None or not diff[i]:
            continue
        for e in range(p.size):
            t = list(zeros)
            t[i] = np.zeros(p.size)
            t[i][e] = 1.0
            t[i] = t[i].reshape(p.shape)
            cols.append(spec.jvp(op.name, primals, t, **cfg)[1])
    return cols


@pytest.mark.parametrize("name", sorted(spec.OPS))
def test_adjoint_identity(name):
    op = spec.OPS[name]
    diff = [_differentiable(s) for s in _specs(op)]
    rng = np.random.default_rng(sum(map(ord, name)))
    done = 0
    for attempt in range(20 * CASES):
        if done == CASES:
            break
        d = 1 + attempt % 4
        built = _build(op, rng, d, positive=attempt % 3 == 2)
        if built is None:
            continue
        primals, cfg = built
        cols = _jacobian_columns(op, primals, cfg, diff)
        if not all(np.isfinite(c).all() for c in cols):
            continue  # outside the differentiable domain (e.g. signed Lp of negatives)
        done += 1
        v = [
            None if p is None or not diff[i] else rng.standard_normal(np.shape(p))
            for i, p in enumerate(primals)
        ]
        y, y_dot = spec.jvp(name, primals, [None if t is None else t for t in v], **cfg)
        u = rng.standard_normal(y.shape)
        bars = spec.vjp(name, primals, u, **cfg)
        lhs = float(np.sum(y_dot * u))
        rhs = sum(float(np.sum(t * b)) for t, b in zip(v, bars) if t is not None)
        v_flat = np.concatenate([t.ravel() for t in v if t is not None])
        jac = np.stack([c.ravel() for c in cols], axis=1)  # [outputs, inputs]
        s = float(np.abs(u.ravel()) @ np.abs(jac) @ np.abs(v_flat))
        n = int(np.count_nonzero(jac)) + y.size
        bound = 2 * ulps(n + 2) * s * (1 + ulps(n + 2))
        assert abs(lhs - rhs) <= bound, (
            f"{name}: <JVP(v), u> = {lhs!r} but <v, VJP(u)> = {rhs!r} (|diff| "
            f"{abs(lhs - rhs):.3g} > bound {bound:.3g}); x.shape={primals[0].shape} cfg={cfg}"
        )
    assert done == CASES, f"{name}: only {done} of {CASES} random cases could be built"
