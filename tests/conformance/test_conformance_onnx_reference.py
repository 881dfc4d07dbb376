"""The suite against onnx.reference.ReferenceEvaluator (the same one-node models), quick profile:
passes apart from the deviations registered in conformance/deviations/onnx-reference.toml.
Skipped when onnx is not installed (pip install -e ".[targets]").

Reduced for CI time (the reference evaluator is pure Python): forward, indices, output
shape and invalid configurations; `ndpool check --target onnx-reference` runs all."""

import pytest

from ndpool.conformance.test_suite import (  # noqa: F401  (the suite's tests)
    test_forward,
    test_indices,
    test_invalid_config,
    test_output_shape,
)


@pytest.fixture(scope="module")
def ndpool_target():
    pytest.importorskip("onnx")
    from ndpool.conformance.target_onnx import make_target

    return make_target("reference")
