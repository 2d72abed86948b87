"""Latent-generator and density-prior MAP solvers: ``csgm`` (GAN/VAE/flow latents), ``flow_map``
(flow prior in x or z), ``ebm_map`` (energy prior), ``dmplug`` (start noise of a few-step diffusion /
consistency sampler)."""
from . import csgm, dmplug, ebm_map, flow_map  # noqa: F401  (register the methods)
