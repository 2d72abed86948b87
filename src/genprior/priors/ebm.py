"""Energy-based prior p(x) ∝ exp(-E(x)) with E a trained network (scalar per image, in nats).

Trained by denoising score matching (Vincent 2011) at a small sigma with s = -grad E, so E is the
energy of the sigma-smoothed data density. ``value(x) = E(x)``, ``grad(x) = grad_x E(x)`` by
autograd (grad is enabled inside, so it works under callers' ``torch.no_grad``).
"""
from __future__ import annotations

import torch

from .base import Prior
from .latent import _check_image_shape


class EBMPrior(Prior):
    capabilities = frozenset({"value", "grad"})

    def __init__(self, net: torch.nn.Module, *, image_shape, config: dict | None = None, name: str | None = None):
        self.net = net.eval()
        self.image_shape = _check_image_shape(image_shape)
        self.config = dict(config or {})
        self.name = name or self.config.get("name", "ebm")
        self.sigma = float(getattr(net, "sigma", self.config.get("sigma", 0.0)))
        self.nfe = 0

    def _check_image(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"{self.name}: x must have shape (B, {', '.join(map(str, self.image_shape))}), "
                             f"got {tuple(x.shape)}")

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) per image, (B,)."""
        self._check_image(x)
        self.nfe += 1
        p = next(self.net.parameters())
        return self.net(x.to(device=p.device, dtype=p.dtype)).to(device=x.device, dtype=x.dtype)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """grad_x E(x) (B, C, H, W) by autograd."""
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.value(xr).sum(), xr)
        return g

    def to(self, *args, **kwargs):
        self.net.to(*args, **kwargs)
        return self

    def __repr__(self) -> str:
        return f"EBMPrior(name={self.name!r}, image_shape={self.image_shape}, sigma={self.sigma})"
