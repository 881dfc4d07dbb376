"""Shared machinery of the pooling studies in ``examples/`` (MNIST-1D, 8x8 digits).

- ``poolers``: the pooler table, resolved against ``ndpool.impl`` at run time;
- ``training``: seeding, the Adam training loop, accuracy;
- ``protocol``: learning-rate search on a validation split, then seeds;
- ``report``: ``results.json``, ``results.md`` and the plots;
- ``cli``: the command line both example scripts share (``--merge`` reruns named poolers
  into a recorded result).

Two side scripts measure what the studies' READMEs explain:
``smooth_max_offset.py`` (smooth max's ``log(K)/beta`` against the ReLU outputs, and the
second layer's ReLUs in training) and ``gradient_drift.py`` (how far two commits'
``ndpool.impl`` gradients differ on a study's first step).
"""
