"""Solvers: every named method is registered here and reached through ``genprior.solve``."""
from .base import Result, method_info, names, register, solve, SOLVERS
from . import baselines  # noqa: F401  (registers mle, fbp)

__all__ = ["Result", "solve", "names", "register", "method_info", "SOLVERS"]
