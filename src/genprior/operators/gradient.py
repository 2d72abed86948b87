"""Finite differences D: (C, H, W) -> (C, 2, H, W), forward differences along rows and columns.

``boundary="neumann"``: the difference at the last row / column is 0 (the usual TV discretisation,
Chambolle 2004); ``"periodic"``: wrap-around, which makes D^T D Fourier-diagonal with symbol
(2 - 2 cos w_h) + (2 - 2 cos w_w) (used by the FTVd-type ADMM).
"""
from __future__ import annotations

import math

import torch

from .base import LinearOperator


class FiniteDifference(LinearOperator):
    name = "gradient"

    def __init__(self, x_shape, boundary: str = "neumann"):
        C, H, W = (int(v) for v in x_shape)
        if boundary not in ("neumann", "periodic"):
            raise ValueError(f"unknown boundary {boundary!r}; known: neumann, periodic")
        super().__init__((C, H, W), (C, 2, H, W))
        self.boundary = boundary

    def _forward(self, x):
        if self.boundary == "periodic":
            dh = torch.roll(x, -1, dims=-2) - x
            dw = torch.roll(x, -1, dims=-1) - x
        else:
            dh = torch.zeros_like(x)
            dw = torch.zeros_like(x)
            dh[..., :-1, :] = x[..., 1:, :] - x[..., :-1, :]
            dw[..., :, :-1] = x[..., :, 1:] - x[..., :, :-1]
        return torch.stack([dh, dw], dim=2)

    def _adjoint(self, p):
        ph, pw = p[:, :, 0], p[:, :, 1]
        if self.boundary == "periodic":
            return (torch.roll(ph, 1, dims=-2) - ph) + (torch.roll(pw, 1, dims=-1) - pw)
        out = torch.zeros_like(ph)
        out[..., 1:, :] += ph[..., :-1, :]
        out[..., :-1, :] -= ph[..., :-1, :]
        out[..., :, 1:] += pw[..., :, :-1]
        out[..., :, :-1] -= pw[..., :, :-1]
        return out

    def norm(self, **_) -> float:
        return math.sqrt(8.0)    # ||D||² <= 8 (tight for periodic on even sizes)

    def fourier_symbol(self, like: torch.Tensor) -> torch.Tensor:
        """Symbol of D^T D in fft2 layout (periodic boundary only)."""
        if self.boundary != "periodic":
            raise ValueError("D^T D is Fourier-diagonal only with boundary='periodic'")
        H, W = self.x_shape[-2:]
        wh = 2 * math.pi * torch.fft.fftfreq(H, dtype=like.dtype, device=like.device)
        ww = 2 * math.pi * torch.fft.fftfreq(W, dtype=like.dtype, device=like.device)
        return (2 - 2 * torch.cos(wh))[:, None] + (2 - 2 * torch.cos(ww))[None, :]
