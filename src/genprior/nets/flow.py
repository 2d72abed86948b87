"""A compact multi-scale Glow-type flow (Dinh et al. 2017, RealNVP; Kingma & Dhariwal 2018, Glow).

Written in-house (about 150 lines) rather than taken from ``normflows``: genprior needs both
directions with exact log-determinants, float64, batched, and a latent that keeps the image's
(C, H, W) layout, in a network that a safetensors checkpoint rebuilds from a plain config — and it
must not add a dependency. ``zuko`` is vector-only.

Structure (on the unconstrained logit space y; the [0, 1] <-> logit map lives in the prior):
level(C, H, W): squeeze to (4C, H/2, W/2); K steps of [ActNorm, invertible 1x1 conv, affine
coupling]; if H/2 and W/2 are still even and more levels are asked for, split the channels in
halves, keep the first half as latent and send the second to the next level; unsqueeze back. So the
latent z has the image's shape, z_a factored out early (RealNVP's multi-scale architecture).
Affine coupling: y_b' = sigmoid(h + 2) * y_b + t with (h, t) = NN(y_a), log|det| = sum log sigmoid(h + 2).
``forward(y) -> (z, log|det dz/dy|)``, ``inverse(z) -> (y, log|det dy/dz|)``.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


def squeeze(x):
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze(x):
    b, c, h, w = x.shape
    x = x.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // 4, 2 * h, 2 * w)


class ActNorm(nn.Module):
    """y = (x + b) * exp(logs) per channel; data-dependent initialisation via :meth:`init_from`."""

    def __init__(self, c):
        super().__init__()
        self.b = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))

    @torch.no_grad()
    def init_from(self, x):
        m = x.mean(dim=(0, 2, 3), keepdim=True)
        s = x.std(dim=(0, 2, 3), keepdim=True)
        self.b.copy_(-m)
        self.logs.copy_(-torch.log(s + 1e-6))

    def forward(self, x):
        return (x + self.b) * self.logs.exp(), self.logs.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y):
        return y * (-self.logs).exp() - self.b, -self.logs.sum() * y.shape[2] * y.shape[3]


class InvConv1x1(nn.Module):
    """y = W x per pixel, W initialised to a random rotation; log|det| = H W log|det W|."""

    def __init__(self, c):
        super().__init__()
        w = torch.linalg.qr(torch.randn(c, c))[0]
        self.weight = nn.Parameter(w)

    def forward(self, x):
        ld = torch.linalg.slogdet(self.weight)[1] * x.shape[2] * x.shape[3]
        return F.conv2d(x, self.weight[:, :, None, None]), ld

    def inverse(self, y):
        winv = torch.linalg.inv(self.weight)
        return F.conv2d(y, winv[:, :, None, None]), -torch.linalg.slogdet(self.weight)[1] * y.shape[2] * y.shape[3]


class Coupling(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.ca = c // 2
        self.net = nn.Sequential(nn.Conv2d(self.ca, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                 nn.Conv2d(hidden, 2 * (c - self.ca), 3, padding=1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _st(self, xa):
        h, t = self.net(xa).chunk(2, dim=1)
        return torch.sigmoid(h + 2.0), t

    def forward(self, x):
        xa, xb = x[:, :self.ca], x[:, self.ca:]
        s, t = self._st(xa)
        return torch.cat([xa, xb * s + t], 1), torch.log(s).flatten(1).sum(1)

    def inverse(self, y):
        ya, yb = y[:, :self.ca], y[:, self.ca:]
        s, t = self._st(ya)
        return torch.cat([ya, (yb - t) / s], 1), -torch.log(s).flatten(1).sum(1)


class FlowStep(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.layers = nn.ModuleList([ActNorm(c), InvConv1x1(c), Coupling(c, hidden)])

    def forward(self, x):
        ld = 0
        for layer in self.layers:
            x, l_ = layer(x)
            ld = ld + l_
        return x, ld

    def inverse(self, y):
        ld = 0
        for layer in reversed(self.layers):
            y, l_ = layer.inverse(y)
            ld = ld + l_
        return y, ld


class MultiScaleFlow(nn.Module):
    def __init__(self, in_channels: int = 1, image_size: int = 28, levels: int = 2, steps_per_level: int = 6,
                 hidden: int = 64):
        super().__init__()
        self.config = dict(in_channels=in_channels, image_size=image_size, levels=levels,
                           steps_per_level=steps_per_level, hidden=hidden)
        self.levels = nn.ModuleList()
        self.split = []
        c, s = in_channels, image_size
        for i in range(levels):
            if s % 2:
                raise ValueError(f"image_size {image_size} cannot be squeezed {levels} times")
            c, s = 4 * c, s // 2
            self.levels.append(nn.ModuleList([FlowStep(c, hidden) for _ in range(steps_per_level)]))
            last = i == levels - 1
            self.split.append(not last)
            if not last:
                c = c - c // 2

    @torch.no_grad()
    def initialize(self, y):
        """Data-dependent ActNorm initialisation (Glow) on a batch y in the logit space."""
        self._run(y, init=True)

    def _run(self, y, level=0, init=False):
        h = squeeze(y)
        ld = torch.zeros(y.shape[0], dtype=y.dtype, device=y.device)
        for step in self.levels[level]:
            if init:
                step.layers[0].init_from(h)
            h, l_ = step(h)
            ld = ld + l_
        if self.split[level]:
            ca = h.shape[1] // 2
            rest, l_ = self._run(h[:, ca:], level + 1, init)
            h = torch.cat([h[:, :ca], rest], 1)
            ld = ld + l_
        return unsqueeze(h), ld

    def _run_inverse(self, z, level=0):
        h = squeeze(z)
        ld = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        if self.split[level]:
            ca = h.shape[1] // 2
            rest, l_ = self._run_inverse(h[:, ca:], level + 1)
            h = torch.cat([h[:, :ca], rest], 1)
            ld = ld + l_
        for step in reversed(self.levels[level]):
            h, l_ = step.inverse(h)
            ld = ld + l_
        return unsqueeze(h), ld

    def forward(self, y):
        """z = f(y) and log|det dz/dy| per sample."""
        return self._run(y)

    def inverse(self, z):
        """y = f^{-1}(z) and log|det dy/dz| per sample."""
        return self._run_inverse(z)
