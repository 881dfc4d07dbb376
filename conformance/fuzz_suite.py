"""The conformance suite's properties as HypoFuzz targets: one Hypothesis test per op x
property, ``test_fuzz[<op>-<property>]``, that draws and checks one example of the
property per call, as the drawn examples of ``ndpool check`` do.

``ndpool fuzz`` runs it under HypoFuzz (``hypothesis fuzz``), with the pytest plugin of
:mod:`.fuzz_plugin`, which stores what HypoFuzz finds under the keys ``ndpool check``
replays. It is not collected by ``pytest --pyargs ndpool.conformance`` (its name does
not start with ``test_``).
"""

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from ndpool.conformance.properties import Run, SetAside, run_example


@pytest.mark.ndpool_suite
@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, derandomize=False
)
@given(data=st.data())
def test_fuzz(ndpool_check, op, prop, data):
    """One drawn example of ``prop`` on ``op``, checked against the spec on the target (an
    example inside a registered region is discarded, as ``ndpool check`` discards it)."""
    try:
        run_example(Run(ndpool_check.target, prop, ndpool_check.registry), op, data)
    except SetAside:
        reject()
