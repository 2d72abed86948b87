"""Schedules: decreasing sigma tensors ending in 0 (k-diffusion / EDM convention)."""
from __future__ import annotations

import torch

from .conversions import alpha_bar_to_sigma, vp_alpha_bar
from ..registry import Registry


def _append_zero(s: torch.Tensor) -> torch.Tensor:
    return torch.cat([s, s.new_zeros(1)])


def edm_sigmas(n: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> torch.Tensor:
    """Karras et al. 2022, eq. (5): sigma_i = (s_max^(1/rho) + i/(n-1) (s_min^(1/rho) - s_max^(1/rho)))^rho."""
    if n < 1:
        raise ValueError(f"need n >= 1 steps, got {n}")
    ramp = torch.linspace(0, 1, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64)
    a, b = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return _append_zero((a + ramp * (b - a)) ** rho)


def ve_sigmas(n: int, sigma_min: float = 0.01, sigma_max: float = 50.0) -> torch.Tensor:
    """Geometric VE schedule (Song et al. 2021): log-uniform from sigma_max down to sigma_min."""
    if n < 1:
        raise ValueError(f"need n >= 1 steps, got {n}")
    return _append_zero(torch.exp(torch.linspace(torch.log(torch.tensor(sigma_max)), torch.log(torch.tensor(sigma_min)), n,
                                                 dtype=torch.float64)))


def vp_sigmas(n: int, kind: str = "linear", t_min: float = 1e-3, beta_min: float = 0.1, beta_max: float = 20.0,
              num_train_steps: int | None = 1000) -> torch.Tensor:
    """VP schedule as sigmas: t evenly spaced from 1 to t_min (DDIM's uniform time skipping),
    sigma = sqrt((1 - alpha_bar(t)) / alpha_bar(t)). With ``num_train_steps`` the times are the
    discrete DDPM steps t_k = k / N (leading spacing), as in DDPM/DDIM code."""
    if n < 1:
        raise ValueError(f"need n >= 1 steps, got {n}")
    if num_train_steps:
        N = num_train_steps
        idx = torch.linspace(N - 1, 0, n).round().to(torch.float64)
        t = (idx + 1) / N
    else:
        t = torch.linspace(1.0, t_min, n, dtype=torch.float64)
    return _append_zero(alpha_bar_to_sigma(vp_alpha_bar(t, kind, beta_min, beta_max)))


def ddpm_leading_sigmas(steps: int, num_train_steps: int = 1000, beta_start: float = 1e-4,
                        beta_end: float = 0.02) -> list[float]:
    """σ(t_k) = sqrt((1 - ᾱ_t)/ᾱ_t) of the discrete DDPM linear schedule at DDIM's leading spacing
    t_k = k ⌊N/K⌋, k = K-1 .. 0 (model units; decreasing)."""
    steps, N = int(steps), int(num_train_steps)
    if not 1 <= steps <= N:
        raise ValueError(f"steps must be in [1, {N}], got {steps}")
    alpha_bar = torch.cumprod(1 - torch.linspace(beta_start, beta_end, N, dtype=torch.float64), 0)
    t = [k * (N // steps) for k in range(steps)][::-1]
    return [float(((1 - alpha_bar[i]) / alpha_bar[i]).sqrt()) for i in t]


SCHEDULES = Registry("schedule", {"edm": edm_sigmas, "ve": ve_sigmas, "vp": vp_sigmas,
             "vp_cosine": lambda n, **kw: vp_sigmas(n, kind="cosine", **kw)})


def make_sigmas(kind: str, n: int, *, scale: float = 1.0, **options) -> torch.Tensor:
    """Build a schedule by name; ``scale`` converts to another data scale (0.5 for a [-1,1] model
    used on [0,1] images)."""
    if kind not in SCHEDULES:
        raise KeyError(f"unknown schedule {kind!r}; known: {', '.join(SCHEDULES)}")
    return SCHEDULES[kind](n, **options) * scale
