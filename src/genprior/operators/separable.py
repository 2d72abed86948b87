"""Separable operators y_c = M_h x_c M_w^T (per channel): super-resolution by average pooling or
by an anti-aliased bicubic kernel. The SVD follows from the 1-D SVDs (A = M_h ⊗ M_w), so
pseudo-inverse and prox are closed form at the cost of small matrix products."""
from __future__ import annotations

import math

import torch

from .base import DecomposableOperator


def average_pool_matrix(n: int, factor: int) -> torch.Tensor:
    if n % factor:
        raise ValueError(f"size {n} is not divisible by the factor {factor}")
    M = torch.zeros(n // factor, n, dtype=torch.float64)
    for i in range(n // factor):
        M[i, i * factor:(i + 1) * factor] = 1.0 / factor
    return M


def _cubic(x: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    x = x.abs()
    return torch.where(x <= 1, (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1,
                       torch.where(x < 2, a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a, torch.zeros_like(x)))


def bicubic_matrix(n: int, factor: int) -> torch.Tensor:
    """Anti-aliased bicubic downsampling by ``factor`` (the kernel of MATLAB's imresize, Keys a=-0.5,
    stretched by the factor), with symmetric boundary reflection; rows sum to 1."""
    if n % factor:
        raise ValueError(f"size {n} is not divisible by the factor {factor}")
    m = n // factor
    M = torch.zeros(m, n, dtype=torch.float64)
    support = 2 * factor
    for i in range(m):
        centre = (i + 0.5) * factor - 0.5
        j = torch.arange(math.floor(centre - support), math.ceil(centre + support) + 1)
        w = _cubic((j.double() - centre) / factor)
        jj = j.clone()
        jj = torch.where(jj < 0, -jj - 1, jj)
        jj = torch.where(jj >= n, 2 * n - jj - 1, jj)
        M[i].index_add_(0, jj, w)
    return M / M.sum(1, keepdim=True)


class Separable(DecomposableOperator):
    """y_c = M_h x_c M_w^T for each channel c."""

    name = "separable"

    def __init__(self, M_h: torch.Tensor, M_w: torch.Tensor, x_shape):
        C, H, W = (int(v) for v in x_shape)
        M_h, M_w = torch.as_tensor(M_h, dtype=torch.float64), torch.as_tensor(M_w, dtype=torch.float64)
        if M_h.shape[1] != H or M_w.shape[1] != W:
            raise ValueError(f"matrices {tuple(M_h.shape)}, {tuple(M_w.shape)} do not fit an image {(H, W)}")
        super().__init__((C, H, W), (C, M_h.shape[0], M_w.shape[0]))
        self.M_h, self.M_w = M_h, M_w
        Uh, Sh, Vh_h = torch.linalg.svd(M_h, full_matrices=True)
        Uw, Sw, Vh_w = torch.linalg.svd(M_w, full_matrices=True)
        self.Vt_h, self.Vt_w = Vh_h, Vh_w          # rows are right singular vectors
        s = torch.zeros(H, W, dtype=torch.float64)
        s[: Sh.shape[0], : Sw.shape[0]] = Sh[:, None] * Sw[None, :]
        self.s = s

    def _forward(self, x):
        return self._buf("M_h", x) @ x @ self._buf("M_w", x).T

    def _adjoint(self, y):
        return self._buf("M_h", y).T @ y @ self._buf("M_w", y)

    def V_adjoint(self, x):
        return self._buf("Vt_h", x) @ x @ self._buf("Vt_w", x).T

    def V(self, s):
        return self._buf("Vt_h", s).T @ s @ self._buf("Vt_w", s)

    def singulars(self, like=None):
        s = self.s if like is None else self._buf("s", like)
        return s.expand(self.x_shape)


def super_resolution(x_shape, factor: int = 4, kernel: str = "average") -> Separable:
    C, H, W = x_shape
    if kernel == "average":
        Mh, Mw = average_pool_matrix(H, factor), average_pool_matrix(W, factor)
    elif kernel == "bicubic":
        Mh, Mw = bicubic_matrix(H, factor), bicubic_matrix(W, factor)
    else:
        raise ValueError(f"unknown super-resolution kernel {kernel!r}; known: average, bicubic")
    op = Separable(Mh, Mw, x_shape)
    op.name = f"sr{factor}_{kernel}"
    return op
