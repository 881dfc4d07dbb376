"""Meta-tests of the suite on the learnable and stochastic poolers (issue 6): deliberately
broken targets built from the spec must be rejected, the spec itself must pass, and the
draws must follow the spec's input kinds."""

import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndpool import spec
from ndpool.conformance.cases import Case
from ndpool.conformance.ops import OP_INFO
from ndpool.conformance.ops.stochastic import off_boundaries
from ndpool.conformance.properties import PROPERTIES, availability
from ndpool.conformance.runner import run_property
from ndpool.conformance.targets import Capabilities, NumpyTarget, load_target
from ndpool.conformance.tolerances import mismatches

POOLERS = (
    "quantile_pool",
    "median_pool",
    "mixed_pool",
    "gated_pool",
    "tree_pool",
    "stochastic_pool",
    "s3_pool",
    "gumbel_pool",
    "soft_pool",
    "gem_pool",
)
CAPS = Capabilities(dtypes=("float32", "float64"), error_ids=True)


def _target(name: str, **ops) -> NumpyTarget:
    return NumpyTarget(types.SimpleNamespace(**ops), name=name, capabilities=CAPS)


def _quantile_flipped(x, q, alpha, **cfg):  # q read as 1 - q
    return spec.quantile_pool(x, 1 - np.asarray(q), alpha, **cfg)


def _gumbel_noise_ignored(x, temperature, g=None, *, mode="train", **cfg):
    if mode == "train" and g is not None:
        g = np.zeros_like(g)
    with np.errstate(all="ignore"):
        return spec.gumbel_pool(x, temperature, g, mode=mode, **cfg)


def _gated_reversed(x, omega, **cfg):  # the gate mask in reverse window order
    return spec.gated_pool(x, np.asarray(omega)[..., ::-1], **cfg)


def _stochastic_last(x, u=None, *, mode="train", **cfg):  # picks by 1 - u
    if mode == "train" and u is not None:
        u = np.nextafter(1.0, 0.0) - np.asarray(u)
    return spec.stochastic_pool(x, u, mode=mode, **cfg)


def _soft_unweighted(x, **cfg):  # the mean instead of the softmax-weighted sum
    return spec.avg_pool(x, count_include_pad=False, **cfg)


MUTANTS = {
    "quantile_pool": _quantile_flipped,
    "gumbel_pool": _gumbel_noise_ignored,
    "gated_pool": _gated_reversed,
    "stochastic_pool": _stochastic_last,
    "soft_pool": _soft_unweighted,
}


@pytest.mark.parametrize("op", sorted(MUTANTS))
def test_broken_pooler_is_rejected(op):
    target = _target(f"broken-{op}", **{op: MUTANTS[op]})
    out = run_property(target, op, "forward", 30, seed_value=1, shrink=False)
    assert out.status == "fail", out


@pytest.mark.parametrize("op", POOLERS)
def test_every_pooler_has_a_strategy(op):
    assert op in OP_INFO
    assert availability(load_target("ndpool.spec"), op, "forward") is None


def test_properties_declared_per_op():
    target = load_target("ndpool.spec")
    assert availability(target, "s3_pool", "translation_equivariance")[0] == "n/a"
    assert availability(target, "soft_pool", "monotonicity")[0] == "n/a"
    assert availability(target, "soft_pool", "positive_scaling")[0] == "n/a"
    for op in ("quantile_pool", "median_pool", "gem_pool", "mixed_pool"):
        assert availability(target, op, "monotonicity") is None
    assert set(PROPERTIES) >= {"permutation_equivariance", "translation_equivariance"}


def test_non_differentiable_inputs_are_excluded():
    caps = Capabilities()
    assert caps.inputs_with_derivatives("stochastic_pool") == ("x",)
    assert caps.inputs_with_derivatives("gumbel_pool") == ("x", "temperature")
    assert caps.inputs_with_derivatives("s3_pool") == ("x",)


def test_draws_reach_the_target_in_float64_and_int64():
    seen = {}

    def stochastic_pool(x, u=None, **cfg):
        seen["u"] = None if u is None else np.asarray(u).dtype
        return spec.stochastic_pool(x.astype(np.float64), u, **cfg).astype(x.dtype)

    def s3_pool(x, indices=None, **cfg):
        seen["indices"] = None if indices is None else np.asarray(indices).dtype
        return spec.s3_pool(x, indices, **cfg)

    target = _target("kinds", stochastic_pool=stochastic_pool, s3_pool=s3_pool)
    x = np.array([[[1.0, 3.0, 0.0, 2.0]]])
    case = Case("stochastic_pool", x, (np.array([[[0.3, 0.7]]]),), {"kernel_size": 2}, "float32")
    target.forward(case)
    assert seen["u"] == np.float64
    x8 = np.arange(8.0).reshape(1, 1, 8)
    idx = np.array([1, 3, 4, 6])
    case = Case("s3_pool", x8, (idx,), {"kernel_size": 2, "grid_size": 4}, "float32")
    target.forward(case)
    assert seen["indices"] == np.int64
    case = Case("s3_pool", x8, (None,), {"kernel_size": 2, "mode": "eval"}, "float32")
    target.forward(case)
    assert seen["indices"] is None


def test_stochastic_draws_are_moved_off_cdf_boundaries():
    x = np.array([[[1.0, 3.0, 2.0, 2.0]]])
    u = np.array([[[0.25, 0.5]]])  # exactly on the boundaries c_1 / S
    (moved,) = off_boundaries(x, (u,), {"kernel_size": 2}, "float32")
    assert np.allclose(moved, [[[0.625, 0.75]]])  # the middle of the cell the spec picks
    assert np.array_equal(
        spec.stochastic_pool(x, moved, kernel_size=2), spec.stochastic_pool(x, u, kernel_size=2)
    )


def test_gumbel_accepts_either_near_best_cell_only():
    x = np.array([[[1.0, 1.0 + 2.0**-22, -5.0]]])  # scores within float32's rounding
    g = np.zeros((1, 1, 1, 3))
    case = Case("gumbel_pool", x, (np.array(1.0), g), {"kernel_size": 3}, "float32")
    ref = case.spec_forward()
    allowed = OP_INFO[case.op].forward_allowed(case, ref)
    assert not mismatches(np.array([[[1.0]]]), ref, allowed, "float32").any()
    assert not mismatches(np.array([[[1.0 + 2.0**-22]]]), ref, allowed, "float32").any()
    assert mismatches(np.array([[[-5.0]]]), ref, allowed, "float32").all()
    exact = case.with_x(x, dtype="float64")  # float64 scores: the margin is enough
    allowed64 = OP_INFO[exact.op].forward_allowed(exact, exact.spec_forward())
    assert mismatches(np.array([[[1.0]]]), ref, allowed64, "float64").all()


@given(st.data())
@settings(max_examples=10, deadline=None, database=None)
def test_s3_indices_breaker_breaks_c21_from_an_eval_mode_case(data):
    """The C21 breaker (indices outside their grid) on a case drawn in eval mode, which
    has no indices: it samples them first, so the spec names C21, not C16 (no indices in
    train mode: the suite's own error a thorough run of ndpool.spec found)."""
    (inv,) = [i for i in OP_INFO["s3_pool"].invalid if i.constraint == "C21"]
    x = np.arange(2 * 3 * 8, dtype=np.float64).reshape(2, 3, 8)
    cfg = {"kernel_size": 2, "mode": "eval", "eval_rule": "expectation"}
    broken = inv.make(data, Case("s3_pool", x, params=(None,), cfg=cfg, dtype="float64"))
    with pytest.raises(spec.ConstraintError) as raised:
        spec.OPS["s3_pool"].function(*broken.primals, **broken.cfg)
    assert raised.value.constraint == "C21", raised.value
