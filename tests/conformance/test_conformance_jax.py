"""The suite against JAX (lax.reduce_window max / flax-style average pooling, jax.jvp and
jax.vjp), quick profile: passes apart from the deviations registered in
conformance/targets/deviations/jax.toml. Skipped when jax is not installed
(pip install -e ".[targets]").

Reduced for CI time (XLA compiles every new shape and configuration, ~2 min for every
property): the forward, JVP and VJP properties; `ndpool check --target jax` runs all."""

import pytest

from ndpool.conformance.test_suite import test_property  # noqa: F401  (the suite's test)

pytestmark = pytest.mark.ndpool_properties("forward", "jvp", "vjp")


@pytest.fixture(scope="module")
def ndpool_target():
    pytest.importorskip("jax")
    from ndpool.conformance.targets.jax_lax import make_target

    return make_target()
