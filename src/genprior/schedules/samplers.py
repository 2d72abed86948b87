"""Unconditional samplers with one signature (k-diffusion style):

    sample_x(model, x, sigmas, *, generator=None, callback=None, **options) -> x

``model(x, sigma)`` returns the denoised estimate E[x0 | x_sigma]; ``x`` starts as
``sigmas[0] * noise``; ``sigmas`` decreases and ends in 0. ``callback`` receives a dict with
``i, x, sigma, sigma_next, denoised`` after each step.
"""
from __future__ import annotations

import torch


def _randn_like(x: torch.Tensor, generator) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)


def _sigma_batch(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    return sigma.to(x.dtype).expand(x.shape[0])


@torch.no_grad()
def sample_euler(model, x, sigmas, *, generator=None, callback=None):
    """Euler on the probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma (Karras et al. 2022)."""
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, _sigma_batch(x, s))
        d = (x - denoised) / s
        x = x + d * (s_next - s)
        if callback is not None:
            callback(dict(i=i, x=x, sigma=s, sigma_next=s_next, denoised=denoised))
    return x


@torch.no_grad()
def sample_heun(model, x, sigmas, *, generator=None, callback=None):
    """Heun's 2nd-order method on the PF-ODE: Karras et al. 2022, Algorithm 1 (Euler on the last step to 0)."""
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, _sigma_batch(x, s))
        d = (x - denoised) / s
        x_euler = x + d * (s_next - s)
        if s_next > 0:
            denoised_2 = model(x_euler, _sigma_batch(x, s_next))
            d_2 = (x_euler - denoised_2) / s_next
            x = x + 0.5 * (d + d_2) * (s_next - s)
        else:
            x = x_euler
        if callback is not None:
            callback(dict(i=i, x=x, sigma=s, sigma_next=s_next, denoised=denoised))
    return x


def ddim_step(x, denoised, s, s_next, eta: float, generator=None):
    """One DDIM step (Song et al. 2021, eq. 12) in sigma form:
    x' = x0 + sqrt(s'^2 - c^2) eps_hat + c z,  c = eta * s' sqrt(s^2 - s'^2) / s.
    eta = 1 is DDPM's ancestral step (the exact posterior q(x_{s'} | x_s, x0))."""
    if s_next == 0:
        return denoised
    eps_hat = (x - denoised) / s
    c = eta * s_next * torch.sqrt((s ** 2 - s_next ** 2).clamp_min(0)) / s
    out = denoised + torch.sqrt((s_next ** 2 - c ** 2).clamp_min(0)) * eps_hat
    if eta > 0:
        out = out + c * _randn_like(x, generator)
    return out


@torch.no_grad()
def sample_ddim(model, x, sigmas, *, generator=None, callback=None, eta: float = 0.0):
    """DDIM with stochasticity eta (eta=0: deterministic; eta=1: DDPM ancestral)."""
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, _sigma_batch(x, s))
        x = ddim_step(x, denoised, s, s_next, eta, generator)
        if callback is not None:
            callback(dict(i=i, x=x, sigma=s, sigma_next=s_next, denoised=denoised))
    return x


@torch.no_grad()
def sample_ddpm(model, x, sigmas, *, generator=None, callback=None):
    """DDPM ancestral sampling (Ho et al. 2020, Algorithm 2) on the given sigma grid."""
    return sample_ddim(model, x, sigmas, generator=generator, callback=callback, eta=1.0)


SAMPLERS = {"euler": sample_euler, "heun": sample_heun, "ddim": sample_ddim, "ddpm": sample_ddpm}


def get_sampler(name: str):
    if name not in SAMPLERS:
        raise KeyError(f"unknown sampler {name!r}; known: {', '.join(SAMPLERS)}")
    return SAMPLERS[name]
