"""The suite against torch.nn.functional: passes apart from the deviations registered in
conformance/deviations/torch.toml (reported as xfail "known deviation: ...")."""

import pytest

from ndpool.conformance.test_suite import *  # noqa: F403  (the suite's tests)


@pytest.fixture(scope="module")
def ndpool_target():
    pytest.importorskip("torch")
    from ndpool.conformance.target_torch import make_target

    return make_target()
