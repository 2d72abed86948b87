"""The prior steps of a reverse diffusion and the unconditional samplers built from them
(k-diffusion style). This module is the single implementation of DDIM / DDPM / Euler / Heun: the
unconditional samplers walk a schedule with one of these steps, and the inverse-problem loop
(:mod:`genprior.solvers.diffusion.loop`) uses the same steps between its data-consistency hooks.

A prior step maps the state x at level s to the level s' given the denoised estimate x0 and the
noise estimate eps = (x - x0) / s (sigma form: x = x0 + s eps):
``step(x, x0, eps, s, s_next, generator, model) -> x_next``.

Samplers share one signature, ``sample_x(model, x, sigmas, *, generator=None, callback=None,
**options) -> x``: ``model(x, sigma)`` returns E[x0 | x_sigma]; ``x`` starts as
``sigmas[0] * noise``; ``sigmas`` decreases and ends in 0. ``callback`` receives a dict with
``i, x, sigma, sigma_next, denoised`` after each step.
"""
from __future__ import annotations

import torch
from ..registry import Registry


def _randn_like(x: torch.Tensor, generator) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)


def _sigma_batch(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    return sigma.to(x.dtype).expand(x.shape[0])


# -- prior steps -------------------------------------------------------------------------------
def ddim(eta: float = 0.0):
    """DDIM (Song et al. 2021, eq. 12) in sigma form: x' = x0 + sqrt(s'² - c²) eps + c z,
    c = eta s' sqrt(s² - s'²) / s. eta = 1 is DDPM's ancestral step (the exact posterior
    q(x_{s'} | x_s, x0))."""
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")

    def step(x, x0, eps, s, s_next, generator, model=None):
        if s_next == 0:
            return x0
        c = eta * s_next * torch.sqrt((s ** 2 - s_next ** 2).clamp_min(0)) / s
        out = x0 + torch.sqrt((s_next ** 2 - c ** 2).clamp_min(0)) * eps
        return out + c * _randn_like(x, generator) if eta > 0 else out
    return step


def zeta_mixing(zeta: float = 0.3):
    """DiffPIR (Zhu et al. 2023, eq. 15): x' = x0 + s' (sqrt(1 - zeta) eps + sqrt(zeta) z)."""
    if not 0 <= zeta <= 1:
        raise ValueError(f"zeta must be in [0, 1], got {zeta}")

    def step(x, x0, eps, s, s_next, generator, model=None):
        if s_next == 0:
            return x0
        return x0 + s_next * ((1 - zeta) ** 0.5 * eps + zeta ** 0.5 * _randn_like(x, generator))
    return step


def euler():
    """Euler on the probability-flow ODE dx/ds = (x - D(x, s)) / s (Karras et al. 2022): x' = x + (s' - s) eps."""
    def step(x, x0, eps, s, s_next, generator, model=None):
        return x + (s_next - s) * eps
    return step


def heun():
    """Heun on the PF-ODE (Karras et al. 2022, Alg. 1): a second, unconditional network call at s'
    (Euler on the last step to 0)."""
    def step(x, x0, eps, s, s_next, generator, model=None):
        x_e = x + (s_next - s) * eps
        if s_next == 0:
            return x_e
        with torch.no_grad():
            eps2 = (x_e - model(x_e, _sigma_batch(x, s_next))) / s_next
        return x + (s_next - s) * 0.5 * (eps + eps2)
    return step


PRIOR_STEPS = Registry("prior step", {"ddpm": lambda **o: ddim(1.0), "ddim": lambda eta=0.0, **o: ddim(eta),
               "euler": lambda **o: euler(), "heun": lambda **o: heun(),
               "zeta": lambda zeta=0.3, **o: zeta_mixing(zeta)})


def make_prior_step(name: str, **options):
    if name not in PRIOR_STEPS:
        raise KeyError(f"unknown prior step {name!r}; known: {', '.join(PRIOR_STEPS)}")
    return PRIOR_STEPS[name](**options)


def ddim_step(x, denoised, s, s_next, eta: float, generator=None):
    """One DDIM step from the denoised estimate (see :func:`ddim`)."""
    return ddim(eta)(x, denoised, (x - denoised) / s, s, s_next, generator)


# -- unconditional samplers: the reverse walk without data consistency ------------------------
@torch.no_grad()
def walk(model, x, sigmas, step, *, generator=None, callback=None):
    """x <- step(x, D(x, s), (x - D(x, s)) / s, s, s') over consecutive levels of ``sigmas``."""
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, _sigma_batch(x, s))
        x = step(x, denoised, (x - denoised) / s, s, s_next, generator, model)
        if callback is not None:
            callback(dict(i=i, x=x, sigma=s, sigma_next=s_next, denoised=denoised))
    return x


def sample_euler(model, x, sigmas, *, generator=None, callback=None):
    """Euler on the probability-flow ODE (Karras et al. 2022)."""
    return walk(model, x, sigmas, euler(), generator=generator, callback=callback)


def sample_heun(model, x, sigmas, *, generator=None, callback=None):
    """Heun's 2nd-order method on the PF-ODE: Karras et al. 2022, Algorithm 1."""
    return walk(model, x, sigmas, heun(), generator=generator, callback=callback)


def sample_ddim(model, x, sigmas, *, generator=None, callback=None, eta: float = 0.0):
    """DDIM with stochasticity eta (eta=0: deterministic; eta=1: DDPM ancestral)."""
    return walk(model, x, sigmas, ddim(eta), generator=generator, callback=callback)


def sample_ddpm(model, x, sigmas, *, generator=None, callback=None):
    """DDPM ancestral sampling (Ho et al. 2020, Algorithm 2) on the given sigma grid."""
    return sample_ddim(model, x, sigmas, generator=generator, callback=callback, eta=1.0)


SAMPLERS = Registry("sampler", {"euler": sample_euler, "heun": sample_heun, "ddim": sample_ddim, "ddpm": sample_ddpm})


def get_sampler(name: str):
    if name not in SAMPLERS:
        raise KeyError(f"unknown sampler {name!r}; known: {', '.join(SAMPLERS)}")
    return SAMPLERS[name]
