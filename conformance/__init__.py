"""ndpool.conformance: Hypothesis properties holding any target to the spec.

Run it as ``ndpool check --target T`` or ``pytest --pyargs ndpool.conformance
--ndpool-target T``. Modules, each named after what it holds:

- ``targets`` (the protocol, ``Capabilities``, ``NumpyTarget``, ``load_target``),
  ``torch_helper`` (``TorchTarget``), ``target_torch`` / ``target_impl`` (built-ins);
- ``opinfo`` (per-op knowledge, keyed by op name), ``strategies`` (valid configurations
  and edge values), ``cases`` (one drawn case and its reproducer);
- ``tolerances`` (derived error bounds, docs/tolerances.md), ``properties`` (the named
  checks), ``deviations`` (known-deviation registries), ``runner`` (one property outside
  pytest);
- ``pytest_plugin`` and ``test_suite`` (the suite under pytest), ``reporting`` (matrix
  and reports), ``cli`` (``ndpool check``);
- ``mutants``, ``killrate``, ``quiet_run`` (the suite's own strength and quietness).
"""

from .cases import Case
from .properties import PROPERTIES, PropertyFailure
from .runner import run_property
from .targets import BUILTIN_TARGETS, Capabilities, NumpyTarget, Target, load_target

__all__ = [
    "BUILTIN_TARGETS",
    "PROPERTIES",
    "Capabilities",
    "Case",
    "NumpyTarget",
    "PropertyFailure",
    "Target",
    "load_target",
    "run_property",
]
