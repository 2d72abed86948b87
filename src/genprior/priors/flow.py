"""Normalizing-flow prior (RealNVP, Dinh et al. 2017; Glow, Kingma & Dhariwal 2018): exact density.

x in [0, 1] -> y = logit(alpha + (1 - 2 alpha) x) -> z = f(y), z ~ N(0, I), z of the image's shape.
log p(x) = -||z||²/2 - d/2 log 2 pi + log|det dz/dy| + log|det dy/dx|, with
log|det dy/dx| = sum_i [log(1 - 2 alpha) - log(q_i (1 - q_i))], q = alpha + (1 - 2 alpha) x.
``generate(z, return_logdet=True)`` gives (x, log|det dx/dz|), so -log p(x) = ||z||²/2 + d/2 log 2 pi + logdet.
The image space is the logit map's range, (-alpha/(1-2 alpha), 1 + alpha/(1-2 alpha)) ⊃ [0, 1]: generated
pixels may overshoot [0, 1] by up to 0.056 (alpha = 0.05); clamp for display, not for the density.
``value(x) = -log p(x)``, ``grad`` its autograd gradient; ``bits_per_dim`` with uniform dequantization.
"""
from __future__ import annotations

import math

import torch

from .latent import LatentPrior
from .vae import dequantize


class FlowPrior(LatentPrior):
    capabilities = frozenset({"generate", "encode", "log_prob", "value", "grad", "sample"})

    def __init__(self, net: torch.nn.Module, *, alpha: float = 0.05, image_shape=None, config=None, name=None):
        c = net.config
        image_shape = image_shape or (c["in_channels"], c["image_size"], c["image_size"])
        super().__init__(net, image_shape=image_shape, latent_shape=image_shape, config=config, name=name or "flow")
        if not 0 <= alpha < 0.5:
            raise ValueError(f"alpha must be in [0, 0.5), got {alpha}")
        self.alpha = float(alpha)

    # x <-> y (logit space)
    def _pre(self, x):
        q = self.alpha + (1 - 2 * self.alpha) * x
        y = torch.log(q) - torch.log1p(-q)
        ld = (math.log(1 - 2 * self.alpha) - torch.log(q) - torch.log1p(-q)).flatten(1).sum(1)
        return y, ld

    def _post(self, y):
        q = torch.sigmoid(y)
        x = (q - self.alpha) / (1 - 2 * self.alpha)
        ld = (torch.nn.functional.logsigmoid(y) + torch.nn.functional.logsigmoid(-y)
              - math.log(1 - 2 * self.alpha)).flatten(1).sum(1)
        return x, ld

    def encode(self, x: torch.Tensor, return_logdet: bool = False):
        """z = f(logit(x)) exactly; with ``return_logdet`` also log|det dz/dx| per sample."""
        self._check_image(x)
        self.nfe += 1
        y, ld0 = self._pre(self._to_net(x))
        z, ld1 = self.net(y)
        z = z.to(device=x.device, dtype=x.dtype)
        if return_logdet:
            return z, (ld0 + ld1).to(device=x.device, dtype=x.dtype)
        return z

    def generate(self, z: torch.Tensor, return_logdet: bool = False):
        """x = G(z) on [0, 1]; with ``return_logdet`` also log|det dx/dz| per sample."""
        self._check_latent(z)
        self.nfe += 1
        y, ld1 = self.net.inverse(self._to_net(z))
        x, ld0 = self._post(y)
        x = x.to(device=z.device, dtype=z.dtype)
        if return_logdet:
            return x, (ld0 + ld1).to(device=z.device, dtype=z.dtype)
        return x

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log-density of x on the [0, 1] image space (nats), (B,)."""
        z, ld = self.encode(x, return_logdet=True)
        d = z[0].numel()
        return -0.5 * z.flatten(1).pow(2).sum(1) - 0.5 * d * math.log(2 * math.pi) + ld

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return -self.log_prob(x)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """d(-log p)/dx by autograd (works under callers' ``torch.no_grad``)."""
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            v = self.value(xr).sum()
            (g,) = torch.autograd.grad(v, xr)
        return g

    def bits_per_dim(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """bits/dim of 8-bit data under uniform dequantization: (-log p(x_deq) + D ln 256) / (D ln 2)."""
        d = math.prod(self.image_shape)
        return (-self.log_prob(dequantize(x, generator)) + d * math.log(256)) / (d * math.log(2))
