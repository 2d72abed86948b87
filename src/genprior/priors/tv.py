"""Total variation: finite differences D with an exact adjoint, TV with an exact prox (FGP on the
dual), and a smoothed TV with a gradient.

D maps (B, C, H, W) to (B, C, 2, H, W): forward differences along H (index 0) then W (index 1), the
layout of :class:`genprior.operators.FiniteDifference`. ``boundary="neumann"``: the difference at
the last row / column is 0 (Chambolle 2004); ``"periodic"``: wrap-around, so D^T D is diagonal in
Fourier with symbol (2 - 2 cos w_h) + (2 - 2 cos w_w).

The difference operator itself lives in :mod:`genprior.operators.gradient`.
"""
from __future__ import annotations

import torch

from .._checks import check_image, check_nonneg, check_positive, check_tensor
from ..operators.gradient import (check_boundary, diff_pair, diff_pair_adjoint, finite_diff,  # noqa: F401
                                  finite_diff_adjoint)
from .base import FramePrior, Prior


def _diff(x, boundary):
    return diff_pair(x, boundary)


def _diff_adjoint(ph, pw, boundary):
    return diff_pair_adjoint(ph, pw, boundary)


def _pixel_norm(dh, dw):
    """Per-pixel 2-norm over channels and both directions: (B, 1, H, W)."""
    return (dh * dh + dw * dw).sum(1, keepdim=True).sqrt()


class _GradientPrior(Prior):
    """Shared by TV and SmoothTV: the difference operator and its options."""

    def __init__(self, isotropic: bool, boundary: str):
        if not isinstance(isotropic, bool):
            raise TypeError(f"isotropic must be a bool, got {type(isotropic).__name__}")
        self.isotropic = isotropic
        self.boundary = check_boundary(boundary)

    def D(self, x: torch.Tensor) -> torch.Tensor:
        """Forward differences D x: (B, C, H, W) -> (B, C, 2, H, W)."""
        return finite_diff(check_image(x), self.boundary)

    def D_adjoint(self, p: torch.Tensor) -> torch.Tensor:
        """The exact adjoint D^T p: (B, C, 2, H, W) -> (B, C, H, W)."""
        check_tensor(p, "p", ndim=5)
        if p.shape[2] != 2:
            raise ValueError(f"p must have shape (B, C, 2, H, W), got {tuple(p.shape)}")
        return finite_diff_adjoint(p, self.boundary)


class TV(_GradientPrior, FramePrior):
    """Total variation r(x) = sum_p ||(D x)_p||, D forward differences (``boundary`` as above): a
    :class:`FramePrior` with K = D, ||D||² <= 8.

    Isotropic: ||.||_2 over both directions *and* all channels jointly (vectorial TV for C > 1,
    Bresson & Chan 2008); anisotropic: ||.||_1. The prox argmin_u gamma r(u) + 1/2 ||u - x||² is
    solved on the dual u = x - gamma D^T p, ||p_pixel|| <= 1 (Chambolle 2004) by FGP, projected
    gradient with FISTA momentum and step 1/(8 gamma) (Beck & Teboulle 2009, Algorithm FGP, without
    the box constraint). It stops when the relative change of u, ||u_k - u_{k-1}|| / ||u_k||, is
    below ``tol`` for every batch element, or after ``inner_iters`` iterations.
    """

    capabilities = frozenset({"value", "prox"})
    name = "tv"
    frame_bound = 8.0

    def __init__(self, isotropic: bool = True, boundary: str = "neumann", *, inner_iters: int = 100,
                 tol: float = 1e-5):
        super().__init__(isotropic, boundary)
        if not (isinstance(inner_iters, int) and inner_iters >= 1):
            raise ValueError(f"inner_iters must be an int >= 1, got {inner_iters!r}")
        self.inner_iters = inner_iters
        self.tol = check_nonneg(tol, "tol")
        self.config = dict(isotropic=isotropic, boundary=boundary, inner_iters=inner_iters, tol=tol)

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        return finite_diff(x, self.boundary)

    def synthesis(self, p: torch.Tensor) -> torch.Tensor:
        return finite_diff_adjoint(p, self.boundary)

    @staticmethod
    def _norms(p):
        """Per-pixel 2-norm over channels and both directions: (B, 1, 1, H, W)."""
        return _pixel_norm(p[:, :, 0], p[:, :, 1]).unsqueeze(2)

    def coefficient_norm(self, p: torch.Tensor) -> torch.Tensor:
        if self.isotropic:
            return _pixel_norm(p[:, :, 0], p[:, :, 1]).flatten(1).sum(1)
        return (p[:, :, 0].abs() + p[:, :, 1].abs()).flatten(1).sum(1)

    def shrink(self, p: torch.Tensor, t) -> torch.Tensor:
        """prox of t ||.||_{2,1} (isotropic: joint norm over channels and directions per pixel) or of
        t ||.||_1 (anisotropic) on D x-shaped p."""
        if self.isotropic:
            return p * (1 - t / self._norms(p).clamp_min(1e-12)).clamp_min(0)
        return torch.sign(p) * (p.abs() - t).clamp_min(0)

    def project_dual(self, p: torch.Tensor, radius=1.0) -> torch.Tensor:
        """Onto {||p_pixel|| <= radius} (the dual ball of the norm above)."""
        if self.isotropic:
            return p / (self._norms(p) / radius).clamp_min(1)
        return p.clamp(-radius, radius)

    def __repr__(self) -> str:
        return (f"TV(isotropic={self.isotropic}, boundary={self.boundary!r}, inner_iters={self.inner_iters}, "
                f"tol={self.tol})")


class SmoothTV(_GradientPrior):
    """Charbonnier-smoothed TV r(x) = sum_p (sqrt(||(D x)_p||² + eps²) - eps), differentiable;
    tends to :class:`TV` as eps -> 0 (norm over directions and channels as in TV; anisotropic:
    the same per difference). grad r = D^T (D x / sqrt(|D x|² + eps²))."""

    capabilities = frozenset({"value", "grad"})
    name = "smooth_tv"

    def __init__(self, eps: float = 0.01, isotropic: bool = True, boundary: str = "neumann"):
        super().__init__(isotropic, boundary)
        self.eps = check_positive(eps, "eps")
        self.config = dict(eps=eps, isotropic=isotropic, boundary=boundary)

    def _mag(self, dh, dw):
        e2 = self.eps * self.eps
        if self.isotropic:
            m = (dh * dh + dw * dw).sum(1, keepdim=True).add_(e2).sqrt_()
            return m, m
        return (dh * dh + e2).sqrt(), (dw * dw + e2).sqrt()

    def value(self, x: torch.Tensor) -> torch.Tensor:
        dh, dw = _diff(check_image(x), self.boundary)
        mh, mw = self._mag(dh, dw)
        if self.isotropic:
            return (mh - self.eps).flatten(1).sum(1)
        return ((mh - self.eps) + (mw - self.eps)).flatten(1).sum(1)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        dh, dw = _diff(check_image(x), self.boundary)
        mh, mw = self._mag(dh, dw)
        return _diff_adjoint(dh / mh, dw / mw, self.boundary)

    def __repr__(self) -> str:
        return f"SmoothTV(eps={self.eps}, isotropic={self.isotropic}, boundary={self.boundary!r})"
