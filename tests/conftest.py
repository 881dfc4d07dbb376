"""Every test process: under pytest-xdist (``pytest -n N``), each worker's framework thread
pools get the cores shared out between the workers (see
:func:`ndpool.conformance.gate.size_thread_pools`), as ``ndpool check -n N``'s do."""

import os

from ndpool.conformance.gate import size_thread_pools


def pytest_configure(config):
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        size_thread_pools(workers)
