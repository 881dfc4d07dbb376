"""The conformance suite as a pytest test: one property of one op per test item,
``test_property[<op>-<property>]`` for every op of ``spec.OPS`` and every property.

Run it with ``pytest --pyargs ndpool.conformance --ndpool-target T`` (or ``ndpool
check``). Ops without a strategy, ops the target lacks and properties that do not apply
are skipped with the reason shown in the summary matrix.
"""

import pytest

from ndpool.conformance.pytest_plugin import run_suite_test


@pytest.mark.ndpool_suite
def test_property(ndpool_check, op, prop, request):
    """One property of one op, checked against the spec on the target under test."""
    run_suite_test(ndpool_check, op, prop, request.node)
