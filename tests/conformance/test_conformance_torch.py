"""The suite against torch.nn.functional: passes apart from the deviations registered in
conformance/targets/deviations/torch.toml (reported as xfail "known deviation: ...")."""

import pytest

from ndpool.conformance.test_suite import *  # noqa: F403  (the suite's tests)


@pytest.fixture(scope="module")
def ndpool_target():
    pytest.importorskip("torch")
    from ndpool.conformance.targets.torch_nn import make_target

    return make_target()
