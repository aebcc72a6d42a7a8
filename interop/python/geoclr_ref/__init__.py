"""geoclr_ref: an independent float64 PyTorch reference of geoclr's objectives (shared/spec LOSSES.md).

Written from the specification, not from the TypeScript: it is the oracle the mocha suite compares against
(values and gradients). `python3 -m geoclr_ref.fixtures --out FILE` regenerates the committed fixtures.
"""
from . import kernels, losses  # noqa: F401
