"""What a prior can give a solver.

A prior declares its capabilities; a solver calls :func:`require` up front and fails with a clear
message naming what is missing, instead of falling back to something untested.

Capabilities: ``value``, ``grad``, ``prox`` (explicit regularizers), ``denoise`` (denoisers and
every diffusion prior), ``score``/``x0`` (diffusion priors), ``generate`` (latent generators),
``encode`` (x -> z: VAE posterior mean, flow inverse),
``log_prob`` (flows, EBMs up to a constant), ``sample``.
"""
from __future__ import annotations

import torch

CAPABILITIES = ("value", "grad", "prox", "denoise", "score", "x0", "generate", "encode", "log_prob", "sample")


class Prior:
    """Base class. Subclasses set ``capabilities`` and implement the matching methods."""

    capabilities: frozenset = frozenset()
    name: str = "prior"

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def value(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no value(); capabilities: {sorted(self.capabilities)}")

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no grad(); capabilities: {sorted(self.capabilities)}")

    def prox(self, x: torch.Tensor, gamma: float) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no prox(); capabilities: {sorted(self.capabilities)}")

    def denoise(self, x: torch.Tensor, sigma) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no denoise(); capabilities: {sorted(self.capabilities)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capabilities={sorted(self.capabilities)})"


def require(prior, *capabilities: str, by: str) -> None:
    """Raise a clear error when ``prior`` lacks any capability a solver ``by`` needs."""
    if prior is None:
        raise ValueError(f"method {by!r} needs a prior offering {', '.join(capabilities)}; got prior=None")
    have = getattr(prior, "capabilities", frozenset())
    missing = [c for c in capabilities if c not in have]
    if missing:
        raise TypeError(f"method {by!r} needs a prior with {', '.join(missing)}; "
                        f"{type(prior).__name__} offers only {', '.join(sorted(have)) or 'nothing'}")
