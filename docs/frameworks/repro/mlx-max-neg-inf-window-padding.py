"""mlx / max-neg-inf-window-padding: MaxPool pads with -inf, so in a window whose real cells
are all -inf the padding ties with them: the JVP takes a padded cell's tangent (0), the
VJP gives part of the cotangent to the padding.

Registered in conformance/targets/deviations/mlx.toml. Exits 1 while the difference
exists."""

import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ndpool import spec


def pool(a):
    return nn.MaxPool1d(2, stride=1, padding=1)(a)


x = np.array([[[-np.inf]]], dtype=np.float32)  # [N, L, C]
tangent = np.array([[[2.0]]], dtype=np.float32)
cotangent = np.array([[[3.0], [4.0]]], dtype=np.float32)
_, (jvp,) = mx.jvp(pool, [mx.array(x)], [mx.array(tangent)])
_, (vjp,) = mx.vjp(pool, [mx.array(x)], [mx.array(cotangent)])
cfg = {"kernel_size": 2, "stride": 1, "padding": 1}
ncl = (x.transpose(0, 2, 1).astype(np.float64),)
_, want_jvp = spec.jvp("max_pool", ncl, (tangent.transpose(0, 2, 1),), **cfg)
(want_vjp,) = spec.vjp("max_pool", ncl, cotangent.transpose(0, 2, 1), **cfg)

print("target JVP:", np.array(jvp).ravel(), " VJP:", np.array(vjp).ravel())
print("spec   JVP:", want_jvp.ravel(), " VJP:", want_vjp.ravel())
same = np.array_equal(np.array(jvp).ravel(), want_jvp.ravel()) and np.array_equal(
    np.array(vjp).ravel(), want_vjp.ravel()
)
sys.exit(0 if same else 1)
