"""MCMC posterior samplers: ``langevin`` (ULA, MALA)."""
from . import langevin  # noqa: F401  (registers the method)
