"""The suite against JAX (lax.reduce_window max / flax-style average pooling, jax.jvp and
jax.vjp), quick profile: passes apart from the deviations registered in
conformance/deviations/jax.toml. Skipped when jax is not installed
(pip install -e ".[targets]").

Reduced for CI time (XLA compiles every new shape and configuration, ~2 min for every
property): the forward, JVP and VJP properties; `ndpool check --target jax` runs all."""

import pytest

from ndpool.conformance.test_suite import (  # noqa: F401  (the suite's tests)
    test_forward,
    test_jvp,
    test_vjp,
)


@pytest.fixture(scope="module")
def ndpool_target():
    pytest.importorskip("jax")
    from ndpool.conformance.target_jax import make_target

    return make_target()
