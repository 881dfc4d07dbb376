"""The suite against torch.nn.functional through torch.compile (Inductor, CPU): passes apart
from the deviations registered in conformance/targets/deviations/torch-compile.toml.

Reduced to keep CI time in check (every new configuration is a compilation, ~1 s once
Inductor is warm): max_pool and avg_pool only (the target below provides no other op, so
the rest report "not provided"), and the forward and indices properties (the quick
profile's 12 examples each). `ndpool check --target torch-compile` runs everything (VJP
included)."""

import pytest

from ndpool.conformance.test_suite import test_property  # noqa: F401  (the suite's test)

CI_OPS = ("max_pool", "avg_pool")
pytestmark = [pytest.mark.ndpool_properties("forward", "indices"), pytest.mark.ndpool_ops(*CI_OPS)]


@pytest.fixture(scope="module")
def ndpool_target():
    pytest.importorskip("torch")
    from ndpool.conformance.targets.torch_compile import make_target

    target = make_target()
    target.ops = {op: fn for op, fn in target.ops.items() if op in CI_OPS}
    return target


def test_a_configuration_that_fails_to_trace_raises_without_printing_its_traceback(capfd):
    """The error reaches the suite (which reports it once, with its example); torch's
    fake-tensor logger would also print its traceback to stderr for every such example."""
    torch = pytest.importorskip("torch")
    from ndpool.conformance.targets.torch_compile import make_target

    fn = make_target().compiled_ops.compiled("max_pool", {"kernel_size": 1})
    with pytest.raises(Exception, match="positive length"):
        fn(torch.zeros(1, 0, 1, 1, 5))  # a zero-length non-batch axis: max_pool3d rejects it
    assert "failed while attempting to run meta" not in capfd.readouterr().err
