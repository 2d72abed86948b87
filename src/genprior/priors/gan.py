"""GAN prior (Goodfellow et al. 2014; DCGAN, Radford et al. 2016): x = G(z), z ~ N(0, I).

The generator works on the network range [-1, 1]; this wrapper returns x = (G(z) + 1) / 2 on [0, 1].
Capability ``generate``: used by CSGM (Bora et al. 2017), min_z 1/2 sigma_y^-2 ||A G(z) - y||² + 1/2 ||z||².
"""
from __future__ import annotations

import torch

from .latent import LatentPrior


class GANPrior(LatentPrior):
    capabilities = frozenset({"generate", "sample"})

    def __init__(self, generator_net: torch.nn.Module, *, image_shape=None, config=None, name=None):
        c = generator_net.config
        image_shape = image_shape or (c["out_channels"], c["image_size"], c["image_size"])
        super().__init__(generator_net, image_shape=image_shape, latent_shape=(c["latent_dim"],), config=config,
                         name=name or "gan")

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """x = (G(z) + 1) / 2, (B, latent_dim) -> (B, C, H, W); differentiable in z."""
        self._check_latent(z)
        self.nfe += 1
        x = self.net(self._to_net(z))
        return ((x + 1) * 0.5).to(device=z.device, dtype=z.dtype)
