"""A conditional RealNVP for vectors: exact log p(x | y) and one-pass posterior samples.

Affine couplings (Dinh et al. 2017) whose scale and shift networks also see the condition y
(Ardizzone et al. 2019, conditional INN): with a binary mask m,
z = m ⊙ x + (1 - m) ⊙ (x ⊙ exp(s(m ⊙ x, y)) + t(m ⊙ x, y)),  log|det| = Σ (1 - m) ⊙ s,
s = tanh(·) bounded. x and y are standardised by fixed (buffered) means and stds; the base is
N(0, I), so log p(x | y) = log N(z; 0, I) + Σ log|det| - Σ log std_x.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class ConditionalCoupling(nn.Module):
    def __init__(self, mask: torch.Tensor, cond_dim: int, hidden: int):
        super().__init__()
        dim = mask.numel()
        self.register_buffer("mask", mask.float())
        self.net = nn.Sequential(nn.Linear(dim + cond_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 2 * dim))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _st(self, xm, c):
        s, t = self.net(torch.cat([xm, c], 1)).chunk(2, dim=1)
        keep = 1 - self.mask
        return torch.tanh(s) * keep, t * keep

    def forward(self, x, c):
        xm = x * self.mask
        s, t = self._st(xm, c)
        return xm + (1 - self.mask) * (x * torch.exp(s) + t), s.sum(1)

    def inverse(self, z, c):
        zm = z * self.mask
        s, t = self._st(zm, c)
        return zm + (1 - self.mask) * ((z - t) * torch.exp(-s))


class ConditionalRealNVP(nn.Module):
    """x (B, dim) | c (B, cond_dim). Masks cycle through even/odd and first/second half."""

    def __init__(self, dim: int, cond_dim: int, hidden: int = 128, layers: int = 8):
        super().__init__()
        if dim < 2:
            raise ValueError(f"a coupling flow needs dim >= 2, got {dim}")
        self.config = dict(dim=dim, cond_dim=cond_dim, hidden=hidden, layers=layers)
        idx = torch.arange(dim)
        masks = [(idx % 2 == 0), (idx % 2 == 1), (idx < dim // 2), (idx >= dim // 2)]
        self.layers = nn.ModuleList(ConditionalCoupling(masks[i % 4], cond_dim, hidden) for i in range(layers))
        for name, n in (("x_mean", dim), ("x_std", dim), ("c_mean", cond_dim), ("c_std", cond_dim)):
            self.register_buffer(name, torch.zeros(n) if "mean" in name else torch.ones(n))

    @torch.no_grad()
    def set_standardization(self, x: torch.Tensor, c: torch.Tensor) -> None:
        """Fix the data means / stds from a sample (before training)."""
        self.x_mean.copy_(x.mean(0))
        self.x_std.copy_(x.std(0).clamp_min(1e-6))
        self.c_mean.copy_(c.mean(0))
        self.c_std.copy_(c.std(0).clamp_min(1e-6))

    def _c(self, c):
        return (c - self.c_mean) / self.c_std

    def forward(self, x, c):
        """z and log|det dz/dx| per row."""
        z = (x - self.x_mean) / self.x_std
        ld = -torch.log(self.x_std).sum().expand(x.shape[0])
        cc = self._c(c)
        for layer in self.layers:
            z, l = layer(z, cc)
            ld = ld + l
        return z, ld

    def log_prob(self, x, c):
        z, ld = self(x, c)
        return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + ld

    def inverse(self, z, c):
        cc = self._c(c)
        for layer in reversed(self.layers):
            z = layer.inverse(z, cc)
        return z * self.x_std + self.x_mean
