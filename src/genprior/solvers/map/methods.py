"""Compatibility only: the MAP methods live one per file (tikhonov, tv, sparsity, pnp, red,
denoisers) and register on importing :mod:`genprior.solvers.map`. ``_init`` is kept for callers not
yet moved to :func:`genprior.solvers.map.common.smooth_init`."""
from .common import smooth_init as _init  # noqa: F401
