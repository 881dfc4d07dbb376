"""Shared machinery of the pooling studies in ``examples/`` (MNIST-1D, 8x8 digits).

- ``poolers``: the pooler table, resolved against ``ndpool.impl`` at run time;
- ``training``: seeding, the Adam training loop, accuracy;
- ``protocol``: learning-rate search on a validation split, then seeds;
- ``report``: ``results.json``, ``results.md`` and the plots;
- ``cli``: the command line both example scripts share.
"""
