"""Prior steps of the reverse diffusion, in sigma form (x = x0 + sigma eps, images on [0, 1]).

A prior step maps the current state x at level sigma to the next level sigma' given a denoised
estimate x0 (possibly corrected by a data-consistency step) and a noise estimate eps:
``step(x, x0, eps, sigma, sigma_next, generator, model) -> x_next``.
"""
from __future__ import annotations

import torch


def _noise(x, generator):
    return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)


def ddim(eta: float):
    """DDIM (Song et al. 2021, eq. 12): x' = x0 + sqrt(s'² - c²) eps + c z, c = eta s' sqrt(s² - s'²)/s.
    eta = 1 is DDPM's ancestral step."""
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")

    def step(x, x0, eps, s, s_next, generator, model=None):
        if s_next == 0:
            return x0
        c = eta * s_next * torch.sqrt((s ** 2 - s_next ** 2).clamp_min(0)) / s
        out = x0 + torch.sqrt((s_next ** 2 - c ** 2).clamp_min(0)) * eps
        return out + c * _noise(x, generator) if eta > 0 else out
    return step


def zeta_mixing(zeta: float):
    """DiffPIR (Zhu et al. 2023, eq. 15): x' = x0 + s' (sqrt(1 - zeta) eps + sqrt(zeta) z)."""
    if not 0 <= zeta <= 1:
        raise ValueError(f"zeta must be in [0, 1], got {zeta}")

    def step(x, x0, eps, s, s_next, generator, model=None):
        if s_next == 0:
            return x0
        return x0 + s_next * ((1 - zeta) ** 0.5 * eps + zeta ** 0.5 * _noise(x, generator))
    return step


def euler():
    """Euler on the probability-flow ODE: x' = x + (s' - s) eps."""
    def step(x, x0, eps, s, s_next, generator, model=None):
        return x + (s_next - s) * eps
    return step


def heun():
    """Heun on the PF-ODE (Karras et al. 2022, Alg. 1): a second, unconditional network call at s'."""
    def step(x, x0, eps, s, s_next, generator, model=None):
        x_e = x + (s_next - s) * eps
        if s_next == 0:
            return x_e
        with torch.no_grad():
            eps2 = (x_e - model(x_e, s_next.expand(x.shape[0]))) / s_next
        return x + (s_next - s) * 0.5 * (eps + eps2)
    return step


PRIOR_STEPS = {"ddpm": lambda **o: ddim(1.0), "ddim": lambda eta=0.0, **o: ddim(eta),
               "euler": lambda **o: euler(), "heun": lambda **o: heun(),
               "zeta": lambda zeta=0.3, **o: zeta_mixing(zeta)}


def make_prior_step(name: str, **options):
    if name not in PRIOR_STEPS:
        raise KeyError(f"unknown prior step {name!r}; known: {', '.join(PRIOR_STEPS)}")
    return PRIOR_STEPS[name](**options)
