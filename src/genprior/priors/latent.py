"""Shared machinery of the latent-variable priors (GAN, VAE, flow): z ~ N(0, I), x = G(z) on [0, 1].

Interface used by the latent solvers (csgm, flow_map): ``image_shape`` (C, H, W), ``latent_shape``
(per sample), ``generate(z)`` differentiable in z (the network is in eval mode; no ``no_grad`` is
forced), ``latent_log_prior(z) = -||z||²/2`` (the standard normal, constant dropped),
``sample_latent(n, generator)``, ``sample(n, generator)``. ``nfe`` counts network calls on a batch.
"""
from __future__ import annotations

import torch

from .base import Prior


def _check_image_shape(image_shape) -> tuple:
    shp = tuple(int(v) for v in image_shape)
    if len(shp) != 3 or min(shp) < 1:
        raise ValueError(f"image_shape must be (C, H, W) with positive sizes, got {image_shape!r}")
    return shp


class LatentPrior(Prior):
    capabilities = frozenset({"generate", "sample"})
    latent_shape: tuple = ()
    image_shape: tuple = ()

    def __init__(self, net: torch.nn.Module, *, image_shape, latent_shape, config: dict | None = None,
                 name: str | None = None):
        self.net = net.eval()
        self.image_shape = _check_image_shape(image_shape)
        self.latent_shape = tuple(int(v) for v in latent_shape)
        self.config = dict(config or {})
        self.name = name or self.config.get("name", type(self).__name__)
        self.nfe = 0

    # -- helpers ----------------------------------------------------------------------------
    def _param(self) -> torch.Tensor:
        return next(self.net.parameters())

    def _to_net(self, t: torch.Tensor) -> torch.Tensor:
        p = self._param()
        return t.to(device=p.device, dtype=p.dtype)

    def _check_latent(self, z) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"z must be a torch.Tensor, got {type(z).__name__}")
        if tuple(z.shape[1:]) != self.latent_shape or z.ndim != len(self.latent_shape) + 1:
            raise ValueError(f"{self.name}: z must have shape (B, {', '.join(map(str, self.latent_shape))}), "
                             f"got {tuple(z.shape)}")
        return z

    def _check_image(self, x) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"{self.name}: x must have shape (B, {', '.join(map(str, self.image_shape))}), "
                             f"got {tuple(x.shape)}")
        return x

    # -- interface --------------------------------------------------------------------------
    def latent_log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; 0, I) up to its constant: -||z||²/2 per sample, shape (B,)."""
        self._check_latent(z)
        return -0.5 * z.flatten(1).pow(2).sum(1)

    def sample_latent(self, n: int, generator: torch.Generator | None = None, dtype=torch.float32) -> torch.Tensor:
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        return torch.randn((int(n), *self.latent_shape), generator=generator, dtype=dtype)

    def sample(self, n: int, generator: torch.Generator | None = None, **_) -> torch.Tensor:
        with torch.no_grad():
            return self.generate(self.sample_latent(n, generator))

    def to(self, *args, **kwargs):
        self.net.to(*args, **kwargs)
        return self

    def parameters_count(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, image_shape={self.image_shape}, "
                f"latent_shape={self.latent_shape}, capabilities={sorted(self.capabilities)})")
