from .base import Prior, require, CAPABILITIES
from .diffusion import DiffusionPrior, NetworkDiffusionPrior
