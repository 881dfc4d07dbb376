"""The README's Python examples run as written (they are a new user's first contact).

An example that imports torch (``ndpool.impl``) is skipped where torch is not installed:
the docs extra, which runs tests/docs, has no torch."""

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
NEEDS_TORCH = re.compile(r"^\s*(?:import torch|from ndpool import impl)\b", re.M)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2, "the README should show the spec and the impl in use"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, capsys):
    block = BLOCKS[index]
    if NEEDS_TORCH.search(block) and importlib.util.find_spec("torch") is None:
        pytest.skip("this README example needs torch (pip install -e '.[torch]')")
    exec(compile(block, f"README.md block {index}", "exec"), {})
