"""DCGAN-style generator and discriminator (Radford et al. 2016) for 28² and 64² images.

Generator: z (B, latent_dim) -> linear -> (c0, s0, s0) -> [ConvTranspose 4x4 stride 2, BatchNorm,
ReLU] x n_up -> 3x3 conv -> tanh, output on the network range [-1, 1]. The start size s0 is the image
size halved until it is odd or <= 4 (28 -> 7, two up-steps; 64 -> 4, four up-steps).
Discriminator: [4x4 conv stride 2, LeakyReLU(0.2)] down to s0, linear -> one logit; no
normalisation, so the R1 penalty (Mescheder et al. 2018) acts on a plain function of the input.
"""
from __future__ import annotations

import torch
from torch import nn


def _start_size(size: int) -> tuple[int, int]:
    s, n = size, 0
    while s % 2 == 0 and s > 4:
        s //= 2
        n += 1
    return s, n


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 64, out_channels: int = 1, image_size: int = 28, width: int = 32):
        super().__init__()
        self.config = dict(latent_dim=latent_dim, out_channels=out_channels, image_size=image_size, width=width)
        s0, n_up = _start_size(image_size)
        if n_up < 1:
            raise ValueError(f"image_size {image_size} must be divisible by 2")
        chans = [width * 2 ** (n_up - i) for i in range(n_up + 1)]   # e.g. width 32, 2 ups: 128, 64, 32
        self.s0, self.c0 = s0, chans[0]
        self.fc = nn.Linear(latent_dim, chans[0] * s0 * s0)
        layers = [nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.Conv2d(chans[-1], out_channels, 3, padding=1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.fc(z).view(z.shape[0], self.c0, self.s0, self.s0))


class DCGANDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 1, image_size: int = 28, width: int = 32):
        super().__init__()
        self.config = dict(in_channels=in_channels, image_size=image_size, width=width)
        s0, n_down = _start_size(image_size)
        chans = [in_channels] + [width * 2 ** i for i in range(n_down)]
        layers = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(chans[-1] * s0 * s0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).flatten(1)).squeeze(1)
