"""The worked examples in the spec's docstrings are golden tests: run them."""

import doctest
import importlib
import pkgutil

import pytest

import ndpool.spec

MODULES = sorted(m.name for m in pkgutil.iter_modules(ndpool.spec.__path__, "ndpool.spec."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctests failed in {name}"
