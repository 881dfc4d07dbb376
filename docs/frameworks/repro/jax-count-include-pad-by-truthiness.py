"""jax / count-include-pad-by-truthiness: the flax-style average takes any truthy value.

Registered in conformance/targets/deviations/jax.toml. The average is flax.linen.avg_pool's
(`if count_include_pad:`), which the jax target's adapter copies; exits 1 while it computes
with count_include_pad="no" (as True) where the spec (C22) rejects anything but a bool."""

import sys

import jax
import numpy as np

from ndpool import spec
from ndpool.conformance.targets.jax_lax import avg_pool

jax.config.update("jax_enable_x64", True)
x = np.arange(1.0, 4.0).reshape(1, 1, 3)
got = avg_pool(x, kernel_size=2, padding=1, count_include_pad="no")
print("target:", np.asarray(got), "(as count_include_pad=True)")
try:
    spec.avg_pool(x, kernel_size=2, padding=1, count_include_pad="no")
except spec.ConstraintError as exc:
    print("spec:   rejects:", exc)
    sys.exit(1)
print("spec:   accepts")
sys.exit(0)
