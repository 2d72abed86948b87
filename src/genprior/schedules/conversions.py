"""Conversions between VP time t, alpha_bar(t) and the VE/EDM noise level sigma."""
from __future__ import annotations

import math

import torch


def vp_alpha_bar(t: torch.Tensor, kind: str = "linear", beta_min: float = 0.1, beta_max: float = 20.0,
                 cosine_s: float = 0.008) -> torch.Tensor:
    """alpha_bar(t) for t in [0, 1] of the continuous VP SDE (Song et al. 2021).

    ``linear``: beta(t) = beta_min + t (beta_max - beta_min) (DDPM's 1e-4..0.02 over 1000 steps is
    beta_min=0.1, beta_max=20); ``cosine``: Nichol & Dhariwal 2021.
    """
    t = torch.as_tensor(t, dtype=torch.float64)
    if kind == "linear":
        return torch.exp(-(beta_min * t + 0.5 * (beta_max - beta_min) * t ** 2))
    if kind == "cosine":
        f = torch.cos((t + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
        f0 = math.cos(cosine_s / (1 + cosine_s) * math.pi / 2) ** 2
        return (f / f0).clamp(1e-12, 1.0)
    raise KeyError(f"unknown VP schedule kind {kind!r}; known: linear, cosine")


def alpha_bar_to_sigma(alpha_bar: torch.Tensor) -> torch.Tensor:
    alpha_bar = torch.as_tensor(alpha_bar)
    return torch.sqrt((1 - alpha_bar) / alpha_bar)


def sigma_to_alpha_bar(sigma: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + torch.as_tensor(sigma) ** 2)


def vp_to_sigma(x_vp: torch.Tensor, alpha_bar) -> tuple[torch.Tensor, torch.Tensor]:
    """VP state x_t = sqrt(ab) x0 + sqrt(1-ab) eps  ->  (x_sigma = x0 + sigma eps, sigma)."""
    ab = torch.as_tensor(alpha_bar, dtype=x_vp.dtype)
    return x_vp / ab.sqrt(), alpha_bar_to_sigma(ab)


def sigma_to_vp(x_sigma: torch.Tensor, sigma) -> tuple[torch.Tensor, torch.Tensor]:
    ab = sigma_to_alpha_bar(torch.as_tensor(sigma, dtype=x_sigma.dtype))
    return x_sigma * ab.sqrt(), ab
