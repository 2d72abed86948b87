"""Finite differences D: (C, H, W) -> (C, 2, H, W), forward differences along rows and columns.

``boundary="neumann"``: the difference at the last row / column is 0 (the usual TV discretisation,
Chambolle 2004); ``"periodic"``: wrap-around, which makes D^T D Fourier-diagonal with symbol
(2 - 2 cos w_h) + (2 - 2 cos w_w) (used by the FTVd-type ADMM).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import LinearOperator
from .transforms import difference_symbol

BOUNDARIES = ("neumann", "periodic")


def check_boundary(boundary: str) -> str:
    if boundary not in BOUNDARIES:
        raise ValueError(f"unknown boundary {boundary!r}; known: {', '.join(BOUNDARIES)}")
    return boundary


def diff_pair(x: torch.Tensor, boundary: str):
    """(D_h x, D_w x), forward differences."""
    if boundary == "periodic":
        return x.roll(-1, -2) - x, x.roll(-1, -1) - x
    return F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1)), F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1))


def diff_pair_adjoint(ph: torch.Tensor, pw: torch.Tensor, boundary: str) -> torch.Tensor:
    """D_h^T ph + D_w^T pw (minus a discrete divergence)."""
    if boundary == "periodic":
        return (ph.roll(1, -2) - ph) + (pw.roll(1, -1) - pw)
    ph, pw = ph[..., :-1, :], pw[..., :, :-1]
    return (F.pad(ph, (0, 0, 1, 0)) - F.pad(ph, (0, 0, 0, 1))) + (F.pad(pw, (1, 0)) - F.pad(pw, (0, 1)))


def finite_diff(x: torch.Tensor, boundary: str = "neumann") -> torch.Tensor:
    """D x: (B, C, H, W) -> (B, C, 2, H, W)."""
    return torch.stack(diff_pair(x, boundary), dim=2)


def finite_diff_adjoint(p: torch.Tensor, boundary: str = "neumann") -> torch.Tensor:
    """D^T p: (B, C, 2, H, W) -> (B, C, H, W), the exact adjoint of :func:`finite_diff`."""
    return diff_pair_adjoint(p[:, :, 0], p[:, :, 1], boundary)


class FiniteDifference(LinearOperator):
    name = "gradient"

    def __init__(self, x_shape, boundary: str = "neumann"):
        C, H, W = (int(v) for v in x_shape)
        super().__init__((C, H, W), (C, 2, H, W))
        self.boundary = check_boundary(boundary)

    def _forward(self, x):
        return finite_diff(x, self.boundary)

    def _adjoint(self, p):
        return finite_diff_adjoint(p, self.boundary)

    def norm(self, **_) -> float:
        return math.sqrt(8.0)    # ||D||² <= 8 (tight for periodic on even sizes)

    def fourier_symbol(self, like: torch.Tensor) -> torch.Tensor:
        """Symbol of D^T D in fft2 layout (periodic boundary only)."""
        if self.boundary != "periodic":
            raise ValueError("D^T D is Fourier-diagonal only with boundary='periodic'")
        H, W = self.x_shape[-2:]
        return difference_symbol(H, W, like)
