"""Fixtures of the impl tests."""

import importlib.util
import pathlib

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def benchmark_script():
    """``load(name)``: the module of ``benchmarks/<name>.py``, loaded from its file (the
    benchmarks are scripts, not a package)."""

    def load(name: str):
        found = importlib.util.spec_from_file_location(
            f"{name}_benchmark", BENCHMARKS / f"{name}.py"
        )
        module = importlib.util.module_from_spec(found)
        found.loader.exec_module(module)
        return module

    return load
