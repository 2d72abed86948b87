"""VAE prior (Kingma & Welling 2014): x = mu_x(z) (the decoder mean), z ~ N(0, I).

Decoder p(x|z) = N(mu_x(z), s² I) on the [0, 1] scale with one learned scale s; encoder
q(z|x) = N(mu(x), diag sigma²(x)). ``encode(x)`` = mu(x) (posterior mean: a CSGM initial latent),
``elbo(x)`` = E_q log p(x|z) - KL(q || N(0, I)) in nats per image (a lower bound on log p(x)),
``bits_per_dim(x)`` the matching upper bound for 8-bit data under uniform dequantization.
"""
from __future__ import annotations

import math

import torch

from .latent import LatentPrior


def dequantize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """8-bit data x = k/255 -> (k + u)/256, u ~ U[0, 1) (Theis et al. 2016)."""
    k = torch.round(x * 255).clamp(0, 255)
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return (k + u) / 256


class VAEPrior(LatentPrior):
    capabilities = frozenset({"generate", "encode", "sample"})

    def __init__(self, net: torch.nn.Module, *, image_shape=None, config=None, name=None):
        c = net.config
        image_shape = image_shape or (c["in_channels"], c["image_size"], c["image_size"])
        super().__init__(net, image_shape=image_shape, latent_shape=(c["latent_dim"],), config=config,
                         name=name or "vae")

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder mean mu_x(z) on [0, 1]; differentiable in z."""
        self._check_latent(z)
        self.nfe += 1
        return self.net.decode(self._to_net(z)).to(device=z.device, dtype=z.dtype)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean mu(x) of q(z|x)."""
        self._check_image(x)
        self.nfe += 1
        return self.net.encode(self._to_net(x))[0].to(device=x.device, dtype=x.dtype)

    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None, samples: int = 1) -> torch.Tensor:
        """ELBO in nats per image (B,), averaged over ``samples`` reparameterised draws z ~ q(z|x)."""
        self._check_image(x)
        xn = self._to_net(x)
        tot = 0
        for _ in range(int(samples)):
            eps = torch.randn((x.shape[0], *self.latent_shape), generator=generator, dtype=xn.dtype).to(xn.device)
            self.nfe += 1
            tot = tot + self.net.elbo(xn, eps)
        return (tot / int(samples)).to(device=x.device, dtype=x.dtype)

    def bits_per_dim(self, x: torch.Tensor, generator: torch.Generator | None = None, samples: int = 1):
        """Upper bound on bits/dim of 8-bit data: (-ELBO(dequantized x) + D ln 256) / (D ln 2), (B,)."""
        d = math.prod(self.image_shape)
        nll = -self.elbo(dequantize(x, generator), generator, samples)
        return (nll + d * math.log(256)) / (d * math.log(2))
