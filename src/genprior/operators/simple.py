"""Denoising (identity), inpainting (masks) and a dense matrix on vectors."""
from __future__ import annotations

import torch

from .base import DecomposableOperator


class Identity(DecomposableOperator):
    """A = I (denoising)."""

    name = "identity"

    def __init__(self, x_shape):
        super().__init__(x_shape, x_shape)

    def _forward(self, x):
        return x

    def _adjoint(self, y):
        return y

    def V_adjoint(self, x):
        return x

    def V(self, s):
        return s

    def singulars(self, like=None):
        dtype = like.dtype if like is not None else torch.float64
        return torch.ones(self.x_shape, dtype=dtype)

    def normal_fourier_symbol(self, like):
        return torch.ones(self.x_shape[-2:], dtype=like.dtype, device=like.device)


class Inpainting(DecomposableOperator):
    """A x = m ⊙ x with a 0/1 mask; y keeps the image shape (zeros where not observed)."""

    name = "inpainting"

    def __init__(self, mask: torch.Tensor, x_shape):
        super().__init__(x_shape, x_shape)
        mask = torch.as_tensor(mask, dtype=torch.float64)
        try:
            mask = torch.broadcast_to(mask, self.x_shape).clone()
        except RuntimeError as e:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to {self.x_shape}") from e
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("inpainting mask must hold only 0 and 1")
        self.mask = mask

    @property
    def hole_kind(self) -> str:
        """How the unobserved pixels lie: ``"none"``, ``"box"`` (one axis-aligned rectangle, the
        same in every channel) or ``"scattered"`` (anything else, e.g. random pixel sampling)."""
        missing = self.mask == 0
        if not bool(missing.any()):
            return "none"
        hole = missing.any(0)
        rows, cols = hole.any(1).nonzero().reshape(-1), hole.any(0).nonzero().reshape(-1)
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        box = bool(hole[r0:r1, c0:c1].all()) and int(hole.sum()) == (r1 - r0) * (c1 - c0)
        return "box" if box and bool((missing == hole).all()) else "scattered"

    def _forward(self, x):
        return self._buf("mask", x) * x

    _adjoint = _forward

    def measurement_support(self, y):
        return self._buf("mask", y)

    def V_adjoint(self, x):
        return x

    def V(self, s):
        return s

    def singulars(self, like=None):
        return self.mask if like is None else self._buf("mask", like)

    def A_dagger(self, y, **_):
        self.check_y(y)
        return self._buf("mask", y) * y

    def prox_l2(self, z, y, gamma, **_):
        from .base import _gamma
        self.check_x(z, "z")
        self.check_y(y)
        g = _gamma(gamma, z)
        m = self._buf("mask", z)
        return (z + g * m * y) / (1 + g * m)


class Matrix(DecomposableOperator):
    """A dense matrix acting on vectors x: (B, n) -> y: (B, m); SVD by torch.linalg.svd (lazy)."""

    name = "matrix"

    def __init__(self, A: torch.Tensor):
        A = torch.as_tensor(A)
        if A.ndim != 2:
            raise ValueError(f"Matrix needs a 2-D tensor, got shape {tuple(A.shape)}")
        if not A.is_floating_point():
            A = A.double()
        super().__init__((A.shape[1],), (A.shape[0],))
        self.matrix = A
        self._svd = None

    def _forward(self, x):
        return x @ self._buf("matrix", x).T

    def _adjoint(self, y):
        return y @ self._buf("matrix", y)

    def svd(self):
        if self._svd is None:
            U, S, Vh = torch.linalg.svd(self.matrix.double(), full_matrices=True)
            s = torch.zeros(self.x_shape[0], dtype=torch.float64)
            s[: S.shape[0]] = S
            self.svd_U, self.svd_s, self.svd_Vh = U, s, Vh
            self._svd = True
        return self.svd_U, self.svd_s, self.svd_Vh

    def V_adjoint(self, x):
        self.svd()
        return x @ self._buf("svd_Vh", x).T

    def V(self, s):
        self.svd()
        return s @ self._buf("svd_Vh", s)

    def singulars(self, like=None):
        self.svd()
        return self.svd_s if like is None else self._buf("svd_s", like)
