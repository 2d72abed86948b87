"""Classical priors: explicit regularizers (Tikhonov, TV, smoothed TV, wavelet and DCT L1, patch
nuclear norm) and classical denoisers (NL-means, BM3D, Wiener), registered by name for
``genprior.priors.load``.

Conventions: images (B, C, H, W) in [0, 1], float32 or float64. ``value(x)`` is the unweighted
r(x) per batch element (B,); ``prox(x, gamma)`` = argmin_u gamma r(u) + 1/2 ||u - x||² with gamma
a float or a (B,) tensor; ``denoise(x, sigma)`` for Gaussian noise of std sigma on the [0, 1]
scale. Heavy optional packages (scikit-image, bm3d, PyWavelets) are imported only when used.

This module holds Tikhonov and the table of named classical priors; the other families live in ``tv``, ``wavelets``,
``lowrank`` and ``denoisers``.
"""
from __future__ import annotations

import torch

from .base import Prior
from .denoisers import BM3D, NLMeans, Wiener
from .lowrank import PatchLowRank, svt
from ..registry import Registry
from .._checks import batch_param, check_image
from ..operators.gradient import finite_diff, finite_diff_adjoint
from ..operators.transforms import difference_symbol
from .tv import TV, SmoothTV
from .wavelets import DCTL1, DWT2, DCTFrameL1, WaveletFrameL1, WaveletL1, soft_threshold

TIKHONOV_OPERATORS = ("identity", "gradient", "laplacian")


class Tikhonov(Prior):
    """r(x) = 1/2 ||L x||² with L = identity, the forward-difference gradient D, or the 5-point
    Laplacian -D^T D, both with *periodic* boundary so that L^T L is diagonal in Fourier
    (symbol s = (2 - 2 cos w_h) + (2 - 2 cos w_w) for D^T D, s² for the Laplacian).
    grad r = L^T L x; prox = (I + gamma L^T L)^{-1} x, exact (by FFT for gradient / laplacian)."""

    capabilities = frozenset({"value", "grad", "prox"})
    name = "tikhonov"

    def __init__(self, L: str = "gradient"):
        if L not in TIKHONOV_OPERATORS:
            raise ValueError(f"unknown Tikhonov operator L={L!r}; known: {', '.join(TIKHONOV_OPERATORS)}")
        self.L = L
        self.config = dict(L=L)

    def _apply_L(self, x):
        if self.L == "identity":
            return x
        Dx = finite_diff(x, "periodic")
        return Dx if self.L == "gradient" else -finite_diff_adjoint(Dx, "periodic")

    def value(self, x: torch.Tensor) -> torch.Tensor:
        Lx = self._apply_L(check_image(x))
        return 0.5 * Lx.flatten(1).pow(2).sum(1)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        check_image(x)
        if self.L == "identity":
            return x.clone()
        DtD = finite_diff_adjoint(finite_diff(x, "periodic"), "periodic")
        return DtD if self.L == "gradient" else finite_diff_adjoint(finite_diff(DtD, "periodic"), "periodic")

    def symbol(self, H: int, W: int, like: torch.Tensor) -> torch.Tensor:
        """The Fourier symbol of L^T L on the rfft2 grid (H, W // 2 + 1)."""
        s = difference_symbol(H, W, like, onesided=True)
        return {"identity": torch.ones_like(s), "gradient": s, "laplacian": s * s}[self.L]

    def prox(self, x: torch.Tensor, gamma) -> torch.Tensor:
        g = batch_param(gamma, check_image(x), "gamma")
        if self.L == "identity":
            return x / (1 + g)
        H, W = x.shape[-2:]
        X = torch.fft.rfft2(x)
        return torch.fft.irfft2(X / (1 + g * self.symbol(H, W, x)), s=(H, W))

    def __repr__(self) -> str:
        return f"Tikhonov(L={self.L!r})"


def _tv_aniso(**options) -> TV:
    """Anisotropic TV (||D x||_1)."""
    return TV(isotropic=False, **options)


# the named classical priors for ``genprior.priors.load`` (priors/registry.py serves them)
CLASSICAL: Registry = Registry("prior")
for _name, _factory in (("tikhonov", Tikhonov), ("tv", TV), ("tv_aniso", _tv_aniso), ("smooth_tv", SmoothTV),
                        ("wavelet", WaveletL1), ("wavelet_ti", WaveletFrameL1), ("dct", DCTL1), ("dct_ti", DCTFrameL1),
                        ("lowrank", PatchLowRank), ("nlm", NLMeans), ("bm3d", BM3D), ("wiener", Wiener)):
    CLASSICAL.register(_name, _factory)

__all__ = ["Tikhonov", "TV", "SmoothTV", "WaveletL1", "WaveletFrameL1", "DCTL1", "DCTFrameL1", "DWT2", "PatchLowRank", "NLMeans", "BM3D", "Wiener",
           "soft_threshold", "svt", "finite_diff", "finite_diff_adjoint"]
