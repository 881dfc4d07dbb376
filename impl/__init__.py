"""ndpool.impl: the optimized PyTorch implementation of the spec's ops (see issue 3)."""
