"""The conformance suite as pytest tests: one test per property, parametrized by op.

Run it with ``pytest --pyargs ndpool.conformance --ndpool-target T`` (or ``ndpool
check``). Every op of ``spec.OPS`` is a parameter; ops without a strategy, ops the
target lacks and properties that do not apply are skipped with the reason shown in
the summary matrix.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndpool import spec
from ndpool.conformance.properties import run_example
from ndpool.conformance.pytest_plugin import suite_settings

OPS = list(spec.OPS)


@pytest.mark.ndpool_property("forward")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_forward(ndpool_target, op, data):
    """forward value against the spec"""
    run_example(ndpool_target, op, "forward", data)


@pytest.mark.ndpool_property("indices")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_indices(ndpool_target, op, data):
    """values and indices against the spec"""
    run_example(ndpool_target, op, "indices", data)


@pytest.mark.ndpool_property("jvp")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_jvp(ndpool_target, op, data):
    """JVP against the spec's"""
    run_example(ndpool_target, op, "jvp", data)


@pytest.mark.ndpool_property("vjp")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_vjp(ndpool_target, op, data):
    """VJP against the spec's"""
    run_example(ndpool_target, op, "vjp", data)


@pytest.mark.ndpool_property("adjoint")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_adjoint(ndpool_target, op, data):
    """<JVP(v), u> = <v, VJP(u)> on the target alone"""
    run_example(ndpool_target, op, "adjoint", data)


@pytest.mark.ndpool_property("output_shape")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_output_shape(ndpool_target, op, data):
    """output shape against spec.output_shape"""
    run_example(ndpool_target, op, "output_shape", data)


@pytest.mark.ndpool_property("invalid_config")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_invalid_config(ndpool_target, op, data):
    """rejects what the spec rejects"""
    run_example(ndpool_target, op, "invalid_config", data)


@pytest.mark.ndpool_property("permutation_equivariance")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_permutation_equivariance(ndpool_target, op, data):
    """batch/channel permutations commute"""
    run_example(ndpool_target, op, "permutation_equivariance", data)


@pytest.mark.ndpool_property("translation_equivariance")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_translation_equivariance(ndpool_target, op, data):
    """interior windows shift with the input"""
    run_example(ndpool_target, op, "translation_equivariance", data)


@pytest.mark.ndpool_property("monotonicity")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_monotonicity(ndpool_target, op, data):
    """x <= x' implies f(x) <= f(x')"""
    run_example(ndpool_target, op, "monotonicity", data)


@pytest.mark.ndpool_property("positive_scaling")
@pytest.mark.parametrize("op", OPS)
@suite_settings()
@given(data=st.data())
def test_positive_scaling(ndpool_target, op, data):
    """f(alpha x) = alpha f(x) for alpha > 0"""
    run_example(ndpool_target, op, "positive_scaling", data)
