"""Priors: what each can give a solver (value, grad, prox, denoise, score, generate, log_prob)."""
from .amortized import AmortizedPrior
from .base import CAPABILITIES, Prior, require
from .diffusion import DiffusionPrior, NetworkDiffusionPrior
from .gmm import GaussianMixture
from .analytic import GaussianEnergy, LinearGaussianGenerator
from .classical import (BM3D, DCTL1, DWT2, DCTFrameL1, TV, NLMeans, PatchLowRank, SmoothTV, Tikhonov,  # noqa: F401
                        WaveletFrameL1, WaveletL1, Wiener)
from .consistency import ConsistencyPrior
from .ebm import EBMPrior
from .fewstep import FewStepGenerator
from .flow import FlowPrior
from .gan import GANPrior
from .latent import LatentPrior
from .vae import VAEPrior
from .registry import load, names, shipped

__all__ = ["Prior", "require", "CAPABILITIES", "DiffusionPrior", "NetworkDiffusionPrior", "GaussianMixture", "GaussianEnergy",
           "LinearGaussianGenerator", "load", "Tikhonov", "TV",
           "SmoothTV", "WaveletL1", "WaveletFrameL1", "DCTL1", "DCTFrameL1", "DWT2", "PatchLowRank", "NLMeans", "BM3D", "Wiener",
           "names", "shipped", "AmortizedPrior", "LatentPrior", "GANPrior", "VAEPrior", "FlowPrior", "EBMPrior",
           "ConsistencyPrior", "FewStepGenerator"]
