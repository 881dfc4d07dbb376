"""The conformance suite inside the project's own pytest: quick profile, one fixed seed
(the same examples every run), no example database. The suite's plugin is loaded by its
pytest11 entry point (pyproject.toml)."""

import pytest


@pytest.fixture(scope="session")
def ndpool_seed():
    return 0
