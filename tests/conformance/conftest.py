"""The conformance suite inside the project's own pytest: quick profile, derandomized
(the same examples every run), no example database. The suite's plugin is loaded by
its pytest11 entry point (pyproject.toml)."""

from ndpool.conformance.pytest_plugin import STATE

STATE.derandomize = True
STATE.database = None
