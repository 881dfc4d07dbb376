"""The suite against ndpool.impl (the default target): must pass clean.

Ops the impl does not define yet are skipped as "not provided"."""

import pytest

from ndpool.conformance.test_suite import *  # noqa: F403  (the suite's tests)


@pytest.fixture(scope="module")
def ndpool_target():
    pytest.importorskip("torch", reason="ndpool.impl needs torch")
    from ndpool.conformance.targets.impl import make_target

    return make_target()
