"""ndpool.conformance: Hypothesis properties holding any target to the spec.

Run it as ``ndpool check --target T`` or ``pytest --pyargs ndpool.conformance
--ndpool-target T``. Modules, each named after what it holds:

- ``targets`` (the subpackage of targets: the protocol, ``Capabilities``,
  ``NumpyTarget``, ``TorchTarget``, the built-in targets with their deviation registries,
  ``load_target``);
- ``record`` (what the suite knows about an op: ``OpInfo``) and ``ops`` (the records, one
  module per op family), ``strategies`` (valid configurations and edge values),
  ``cases`` (one drawn case and its reproducer);
- ``tolerances`` (comparisons and the derived error bounds, docs/tolerances.md),
  ``properties`` (the named checks), ``facts`` and ``deviations`` (known-deviation
  registries and the facts their scopes match), ``runner`` (``CheckContext``: one check's
  explicit state, and one property run);
- ``pytest_plugin`` and ``test_suite`` (the suite under pytest), ``reporting`` (matrix
  and reports), ``gate`` and ``cli`` (``ndpool check``);
- campaigns beyond one machine: ``shards`` (``--shard I/N``, balanced by the target's
  cost table in ``costs/``), ``merge`` (``ndpool report merge``), ``example_db`` (``--db``: a
  directory or Redis), ``fuzz``, ``fuzz_plugin`` and ``fuzz_suite`` (``ndpool fuzz``,
  under HypoFuzz);
- ``tools``: what generates pages and runs campaigns (the frameworks page, mutants and
  their kill rate, quiet runs), apart from what a user's check imports.
"""

from .cases import Case
from .properties import PROPERTIES, PropertyFailure
from .runner import CheckContext, run_property
from .targets import BUILTIN_TARGETS, Capabilities, NumpyTarget, Target, TorchTarget, load_target

__all__ = [
    "BUILTIN_TARGETS",
    "PROPERTIES",
    "Capabilities",
    "Case",
    "CheckContext",
    "NumpyTarget",
    "PropertyFailure",
    "Target",
    "TorchTarget",
    "load_target",
    "run_property",
]
