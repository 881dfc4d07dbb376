"""The suite against ONNX Runtime (one-node ONNX models, opset 22), quick profile:
passes apart from the deviations registered in conformance/targets/deviations/onnxruntime.toml.
Skipped when onnx / onnxruntime are not installed (pip install -e ".[targets]")."""

import pytest

from ndpool.conformance.test_suite import *  # noqa: F403  (the suite's tests)


@pytest.fixture(scope="module")
def ndpool_target():
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from ndpool.conformance.targets.onnx_backends import make_target

    return make_target("onnxruntime")
