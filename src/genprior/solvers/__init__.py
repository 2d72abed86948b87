"""Solvers: every named method is registered here and reached through ``genprior.solve``."""
from .base import Result, method_info, names, register, solve, SOLVERS
from . import baselines  # noqa: F401  (registers mle, fbp)
from . import map as _map  # noqa: F401  (registers the MAP and PnP methods)
from . import diffusion as _diffusion  # noqa: F401  (registers the diffusion methods)
from . import latent as _latent  # noqa: F401  (registers csgm, flow_map, ebm_map)
from . import mcmc as _mcmc  # noqa: F401  (registers langevin)
from . import amortized as _amortized  # noqa: F401  (registers amortized)

__all__ = ["Result", "solve", "names", "register", "method_info", "SOLVERS"]
from . import smc as _smc  # noqa: F401  (registers mcgdiff, fps, tds)
