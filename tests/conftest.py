"""Every test process: under pytest-xdist (``pytest -n N``), each worker's framework thread
pools get the cores shared out between the workers (see
:func:`ndpool.conformance.gate.size_thread_pools`), as ``ndpool check -n N``'s do; and
Triton is loaded before any test can load TensorFlow (:func:`load_triton_first`)."""

import contextlib
import os

from ndpool.conformance.gate import size_thread_pools


def load_triton_first() -> None:
    """TensorFlow and Triton each bundle LLVM: a process that loads Triton after TensorFlow
    aborts ("LLVM ERROR: inconsistency in registered CommandLine options"), and torch loads
    Triton lazily (``torch.func``'s first transform imports ``torch._dynamo``, which looks
    for it), so a worker that ran a TensorFlow test and then a torch VJP died. Loaded first,
    Triton and then TensorFlow coexist. Only the package: the Triton kernels' tests set
    ``TRITON_INTERPRET`` before they import the kernels, as before."""
    with contextlib.suppress(Exception):  # not installed (the gpu extra): nothing to order
        import triton  # noqa: F401


def pytest_configure(config):
    load_triton_first()
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        size_thread_pools(workers)
