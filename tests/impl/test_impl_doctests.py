"""The worked examples in the impl's docstrings run (their values are the spec's)."""

import doctest
import importlib
import pkgutil

import pytest

import ndpool.impl

MODULES = sorted(m.name for m in pkgutil.iter_modules(ndpool.impl.__path__, "ndpool.impl."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctests failed in {name}"
