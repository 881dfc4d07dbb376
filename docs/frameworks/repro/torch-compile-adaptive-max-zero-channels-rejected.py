"""torch-compile / adaptive-max-zero-channels-rejected: adaptive_max_pool1d rejects an input
with C = 0 channels; the spec returns an empty [N, 0, *O].

Batched it is rejected for every output size. Unbatched, [0, L] (torch takes the leading axis as
a batch) is accepted by eager torch, and compiled too unless the output size divides the input
and is not 1 cell per axis: Inductor then decomposes adaptive_max_pool into max_pool, whose
check rejects it (BackendCompilerFailed: "Expected 3D or 4D (batch mode) tensor with optional 0
dim batch size").

Registered in conformance/targets/deviations/torch-compile.toml. Exits 1 while the difference
exists."""

import sys

import numpy as np
import torch
import torch.nn.functional as F

from ndpool import spec


def why(exc):
    """The error that Dynamo met while tracing ("... got RuntimeError('...')"), else its own."""
    text = str(exc)
    i = text.find(": got ")
    line = (text[i + 6 :] if i >= 0 else text).strip().splitlines()
    return f"{type(exc).__name__}: {line[1] if line[0].startswith('backend=') else line[0]}"


def pool(x, n):
    return torch.compile(lambda t: F.adaptive_max_pool1d(t, n), dynamic=False)(torch.tensor(x))


same = True
for shape, n in (((1, 0, 4), 3), ((0, 4), 2)):
    x = np.zeros(shape)
    try:
        got = pool(x, n)
        got = f"shape {tuple(got.shape)}"
    except Exception as exc:
        got = why(exc)
    want = spec.adaptive_max_pool(x, output_size=(n,))
    same = same and got == f"shape {want.shape}"
    print(f"x {shape}, output size {n}: target: {got}; spec: shape {want.shape}")
sys.exit(0 if same else 1)
