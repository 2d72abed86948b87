"""An energy network E(x) = ||x - g(x)||² / (2 sigma²) with g a small conv encoder-decoder.

The quadratic-in-a-residual form follows Salimans & Ho (2021, "Should EBMs model the energy or the
score?"): with g close to a denoiser D at noise level sigma, -grad E ≈ (D(x) - x) / sigma², the
score of the sigma-smoothed data density (Tweedie), so training starts well scaled. E is a true
scalar potential: the score -grad E is conservative by construction.
g: 3x3 conv (C -> w), SiLU, 4x4 conv stride 2 (w -> 2w), SiLU, 3x3 conv (2w -> 2w), SiLU,
transposed 4x4 stride 2 (2w -> w), SiLU, skip-concat, 3x3 conv (2w -> C). Smooth activations so the
double backpropagation of denoising score matching sees a smooth gradient field.
"""
from __future__ import annotations

import torch
from torch import nn


class EnergyNet(nn.Module):
    def __init__(self, in_channels: int = 1, width: int = 32, sigma: float = 0.1):
        super().__init__()
        self.config = dict(in_channels=in_channels, width=width, sigma=sigma)
        self.sigma = float(sigma)
        w = width
        self.inp = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1), nn.SiLU())
        self.mid = nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), nn.SiLU(), nn.Conv2d(2 * w, 2 * w, 3, padding=1),
                                 nn.SiLU(), nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.SiLU())
        self.out = nn.Conv2d(2 * w, in_channels, 3, padding=1)
        with torch.no_grad():                               # small, not zero: E = ||r||² has zero gradient at r = 0
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()

    def g(self, x):
        h = self.inp(x * 2 - 1)
        m = self.mid(h)
        if m.shape[-2:] != h.shape[-2:]:                   # odd sizes: crop/pad the up-path
            m = nn.functional.interpolate(m, size=h.shape[-2:], mode="nearest")
        return x + self.out(torch.cat([h, m], 1))

    def forward(self, x):
        """E(x) per sample (B,), x on the [0, 1] scale."""
        return ((x - self.g(x)) ** 2).flatten(1).sum(1) / (2 * self.sigma ** 2)
