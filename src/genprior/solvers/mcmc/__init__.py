"""MCMC posterior samplers: ``langevin`` (ULA, MALA), ``pnp_dm`` (split Gibbs with a diffusion
prior) and ``annealed_langevin`` (score + likelihood per noise level, Metropolis-adjusted where the
prior has a log-density)."""
from . import annealed_langevin, langevin, pnp_dm  # noqa: F401  (registers the methods)
