"""The suite against onnx.reference.ReferenceEvaluator (the same one-node models), quick profile:
passes apart from the deviations registered in conformance/targets/deviations/onnx-reference.toml.
Skipped when onnx is not installed (pip install -e ".[targets]").

Reduced for CI time (the reference evaluator is pure Python): forward, indices, output
shape and invalid configurations; `ndpool check --target onnx-reference` runs all."""

import pytest

from ndpool.conformance.test_suite import test_property  # noqa: F401  (the suite's test)

pytestmark = pytest.mark.ndpool_properties("forward", "indices", "output_shape", "invalid_config")


@pytest.fixture(scope="module")
def ndpool_target():
    pytest.importorskip("onnx")
    from ndpool.conformance.targets.onnx_backends import make_target

    return make_target("reference")
