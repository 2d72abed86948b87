"""Priors: what each can give a solver (value, grad, prox, denoise, score, generate, log_prob)."""
from .base import CAPABILITIES, Prior, require
from .diffusion import DiffusionPrior, NetworkDiffusionPrior
from .gmm import GaussianMixture
from .registry import load, names, shipped

__all__ = ["Prior", "require", "CAPABILITIES", "DiffusionPrior", "NetworkDiffusionPrior", "GaussianMixture", "load",
           "names", "shipped"]
