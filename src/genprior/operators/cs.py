"""Compressed sensing: a dense Gaussian matrix, and a structured random operator (random signs,
orthonormal 2-D DCT, random row subset: Do et al. 2012) that stays cheap at 256² and beyond.

Both act on images (C, H, W) flattened to n = C H W and return y: (m,), m = round(ratio n).
Entries are scaled so that E ||A x||² = ||x||².
"""
from __future__ import annotations

import math

import torch

from .base import DecomposableOperator, _gamma
from .transforms import dct_matrix  # noqa: F401  (re-exported)

MAX_DENSE_ENTRIES = 64 * 1024 * 1024


def _num_measurements(n: int, ratio: float) -> int:
    if not 0 < ratio <= 1:
        raise ValueError(f"compressed-sensing ratio must be in (0, 1], got {ratio}")
    return max(1, int(round(ratio * n)))


class GaussianCS(DecomposableOperator):
    """y = G vec(x), G_ij ~ N(0, 1/m). SVD computed lazily (thin for prox/pseudo-inverse, full
    when the spectral basis is asked for)."""

    name = "cs_gaussian"

    def __init__(self, x_shape, ratio: float = 0.25, *, seed: int = 0):
        n = int(math.prod(x_shape))
        m = _num_measurements(n, ratio)
        if m * n > MAX_DENSE_ENTRIES:
            raise ValueError(f"a dense Gaussian CS matrix of {m} x {n} is too large; use matrix='structured'")
        super().__init__(x_shape, (m,))
        g = torch.Generator().manual_seed(seed)
        self.G = torch.randn(m, n, generator=g, dtype=torch.float64) / math.sqrt(m)
        self._thin = None
        self._full = None

    def _forward(self, x):
        return x.reshape(x.shape[0], -1) @ self._buf("G", x).T

    def _adjoint(self, y):
        return (y @ self._buf("G", y)).reshape(y.shape[0], *self.x_shape)

    def _thin_svd(self):
        if self._thin is None:
            U, S, Vh = torch.linalg.svd(self.G, full_matrices=False)
            self.thin_U, self.thin_S, self.thin_Vh = U, S, Vh
            self._thin = True

    def _full_svd(self):
        if self._full is None:
            self._thin_svd()
            _, _, Vh = torch.linalg.svd(self.G, full_matrices=True)
            self.full_Vh = Vh
            s = torch.zeros(Vh.shape[0], dtype=torch.float64)
            s[: self.thin_S.shape[0]] = self.thin_S
            self.full_s = s.reshape(self.x_shape)
            self._full = True

    def V_adjoint(self, x):
        self._full_svd()
        return (x.reshape(x.shape[0], -1) @ self._buf("full_Vh", x).T).reshape(x.shape)

    def V(self, s):
        self._full_svd()
        return (s.reshape(s.shape[0], -1) @ self._buf("full_Vh", s)).reshape(s.shape)

    def singulars(self, like=None):
        self._full_svd()
        return self.full_s if like is None else self._buf("full_s", like)

    def A_dagger(self, y, **_):
        self.check_y(y)
        self._thin_svd()
        c = (y @ self._buf("thin_U", y)) / self._buf("thin_S", y)
        return (c @ self._buf("thin_Vh", y)).reshape(y.shape[0], *self.x_shape)

    def prox_l2(self, z, y, gamma, **_):
        """x = z + V_r diag(gamma s / (1 + gamma s²)) (U^T y - s V_r^T z) (thin SVD)."""
        self.check_x(z, "z")
        self.check_y(y)
        self._thin_svd()
        g = _gamma(gamma, z)
        g = g.reshape(-1, 1) if g.ndim else g
        Vh, S, U = self._buf("thin_Vh", z), self._buf("thin_S", z), self._buf("thin_U", z)
        zf = z.reshape(z.shape[0], -1)
        c = (g * S * ((y @ U) - S * (zf @ Vh.T))) / (1 + g * S * S)
        return (zf + c @ Vh).reshape(z.shape)


class StructuredCS(DecomposableOperator):
    """y = sqrt(n/m) P F D vec(x): D random ±1, F the orthonormal separable 2-D DCT (per channel),
    P a random subset of m coefficients. Rows are orthogonal: A A^T = (n/m) I."""

    name = "cs_structured"

    def __init__(self, x_shape, ratio: float = 0.25, *, seed: int = 0):
        C, H, W = (int(v) for v in x_shape)
        n = C * H * W
        m = _num_measurements(n, ratio)
        super().__init__((C, H, W), (m,))
        g = torch.Generator().manual_seed(seed)
        self.signs = (torch.randint(0, 2, (C, H, W), generator=g) * 2 - 1).double()
        self.idx = torch.randperm(n, generator=g)[:m].sort().values
        self.Dh, self.Dw = dct_matrix(H), dct_matrix(W)
        self.scale = math.sqrt(n / m)
        s = torch.zeros(n, dtype=torch.float64)
        s[self.idx] = self.scale
        self.s = s.reshape(C, H, W)

    def V_adjoint(self, x):
        return self._buf("Dh", x) @ (self._buf("signs", x) * x) @ self._buf("Dw", x).T

    def V(self, s):
        return self._buf("signs", s) * (self._buf("Dh", s).T @ s @ self._buf("Dw", s))

    def singulars(self, like=None):
        return self.s if like is None else self._buf("s", like)

    def _forward(self, x):
        c = self.V_adjoint(x).reshape(x.shape[0], -1)
        return self.scale * c[:, self.idx.to(x.device)]

    def _adjoint(self, y):
        c = torch.zeros(y.shape[0], int(math.prod(self.x_shape)), dtype=y.dtype, device=y.device)
        c[:, self.idx.to(y.device)] = self.scale * y
        return self.V(c.reshape(y.shape[0], *self.x_shape))
