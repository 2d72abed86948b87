"""Noise schedules as plain tensors and the samplers that walk them.

Convention (EDM, Karras et al. 2022): a noisy image is ``x_sigma = x0 + sigma * eps``; a schedule
is a decreasing tensor of sigmas ending in 0; a model is a callable ``denoised = model(x, sigma)``.
VP diffusions fit the same form through ``x_vp = x_sigma / sqrt(1 + sigma**2)`` with
``sigma = sqrt((1 - alpha_bar) / alpha_bar)``: see :mod:`.conversions`.
"""
from .conversions import alpha_bar_to_sigma, sigma_to_alpha_bar, vp_alpha_bar, vp_to_sigma, sigma_to_vp
from .schedules import ddpm_leading_sigmas, edm_sigmas, ve_sigmas, vp_sigmas, make_sigmas, SCHEDULES
from .samplers import sample_ddim, sample_ddpm, sample_euler, sample_heun, SAMPLERS, get_sampler

__all__ = ["ddpm_leading_sigmas", "edm_sigmas", "ve_sigmas", "vp_sigmas", "make_sigmas", "SCHEDULES", "sample_ddim", "sample_ddpm",
           "sample_euler", "sample_heun", "SAMPLERS", "get_sampler", "alpha_bar_to_sigma", "sigma_to_alpha_bar",
           "vp_alpha_bar", "vp_to_sigma", "sigma_to_vp"]
