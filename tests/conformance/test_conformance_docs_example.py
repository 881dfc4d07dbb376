"""The complete target example in docs/conformance/targets.md runs and conforms."""

import re
import sys
import types
import warnings
from pathlib import Path

import pytest

from ndpool.conformance.properties import PROPERTIES
from ndpool.conformance.runner import run_property

PAGE = Path(__file__).parents[2] / "docs" / "conformance" / "targets.md"


@pytest.fixture(scope="module")
def example_target():
    text = PAGE.read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "my_pooling" in b)
    module = types.ModuleType("my_pooling")
    exec(compile(code, str(PAGE), "exec"), module.__dict__)
    sys.modules["my_pooling"] = module
    yield module.target()
    del sys.modules["my_pooling"]


@pytest.mark.parametrize("prop", list(PROPERTIES))
def test_docs_example_conforms(example_target, prop):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = run_property(example_target, "max_pool", prop, max_examples=15, seed_value=0)
    expected = "not provided" if prop in ("jvp", "vjp", "adjoint") else "pass"
    assert out.status == expected, out.message
    assert run_property(example_target, "avg_pool", prop).status == "not provided"
