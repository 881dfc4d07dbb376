"""Quiet: a conforming target built from the spec itself (NumPy in/out, the lowest common
denominator of the target protocol) passes every property, with no deviation."""

import pytest

from ndpool.conformance.test_suite import *  # noqa: F403  (the suite's tests)


@pytest.fixture(scope="module")
def ndpool_target():
    from ndpool.conformance.targets import load_target

    return load_target("ndpool.spec")
