"""A convolutional VAE (Kingma & Welling 2014) with a Gaussian decoder of one learned scale.

Encoder: [4x4 conv stride 2, SiLU] down to s0 (28 -> 7, 64 -> 4) -> linear -> (mu, log sigma²) of
q(z|x) = N(mu, diag sigma²). Decoder: linear -> (c0, s0, s0) -> [ConvTranspose stride 2, SiLU] ->
3x3 conv -> sigmoid: the mean of p(x|z) = N(mu_x(z), s² I) on the [0, 1] image scale, with one
learned log s (clamped to [log_scale_min, 0]).
"""
from __future__ import annotations

import torch
from torch import nn

from .dcgan import _start_size


class ConvVAE(nn.Module):
    def __init__(self, in_channels: int = 1, image_size: int = 28, latent_dim: int = 32, width: int = 32,
                 log_scale_min: float = -6.0):
        super().__init__()
        self.config = dict(in_channels=in_channels, image_size=image_size, latent_dim=latent_dim, width=width,
                           log_scale_min=log_scale_min)
        s0, n = _start_size(image_size)
        if n < 1:
            raise ValueError(f"image_size {image_size} must be divisible by 2")
        self.s0, self.latent_dim, self.log_scale_min = s0, latent_dim, log_scale_min
        chans = [in_channels] + [width * 2 ** i for i in range(n)]
        enc = []
        for a, b in zip(chans[:-1], chans[1:]):
            enc += [nn.Conv2d(a, b, 4, 2, 1), nn.SiLU()]
        self.enc = nn.Sequential(*enc)
        self.enc_fc = nn.Linear(chans[-1] * s0 * s0, 2 * latent_dim)
        dchans = chans[::-1][:-1]
        self.c0 = dchans[0]
        self.dec_fc = nn.Linear(latent_dim, dchans[0] * s0 * s0)
        dec = [nn.SiLU()]
        for a, b in zip(dchans[:-1], dchans[1:]):
            dec += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.SiLU()]
        dec += [nn.ConvTranspose2d(dchans[-1], dchans[-1], 4, 2, 1), nn.SiLU(),
                nn.Conv2d(dchans[-1], in_channels, 3, padding=1)]
        self.dec = nn.Sequential(*dec)
        self.log_scale = nn.Parameter(torch.tensor(-2.0))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z|x); x on the [0, 1] scale."""
        h = self.enc_fc(self.enc(x * 2 - 1).flatten(1))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-12, 6)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder mean on the [0, 1] scale."""
        return torch.sigmoid(self.dec(self.dec_fc(z).view(z.shape[0], self.c0, self.s0, self.s0)))

    def scale(self) -> torch.Tensor:
        return self.log_scale.clamp(self.log_scale_min, 0.0)

    def elbo(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """ELBO per image in nats: E_q log N(x; mu_x(z), s² I) - KL(q(z|x) || N(0, I)); one sample
        z = mu + sigma * eps (eps = 0 gives the posterior-mean plug-in)."""
        mu, logvar = self.encode(x)
        z = mu if eps is None else mu + (0.5 * logvar).exp() * eps
        xm = self.decode(z)
        log_s = self.scale()
        d = x[0].numel()
        rec = -0.5 * ((x - xm) ** 2).flatten(1).sum(1) * torch.exp(-2 * log_s) - d * (log_s + 0.5 * torch.log(
            torch.tensor(2 * torch.pi, dtype=x.dtype, device=x.device)))
        kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)
        return rec - kl
