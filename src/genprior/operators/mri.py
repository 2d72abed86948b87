"""Cartesian MRI: subsampled orthonormal 2-D FFT of a real image, single- and multi-coil.

Measurements are complex k-space arrays of the image's size with zeros where not sampled.
The adjoint is taken for the real inner product Re<y, y'>, so the operator is exact on real
images: A^T y = Re(F^H (m ⊙ y)). Its normal operator is Fourier-diagonal,
A^T A = F^H diag(m̄) F with m̄(k) = (m(k) + m(-k)) / 2 (Hermitian symmetry of real images), which
gives the closed-form pseudo-inverse, prox and SVD (V^T = F, s = sqrt(m̄)).

Masks: ``cartesian_mask`` keeps a fully sampled centre band of phase-encoding lines and random
other lines until 1/acceleration of all lines are kept (fastMRI's random mask).
"""
from __future__ import annotations

import math

import torch

from .base import FourierDiagonal, LinearOperator, _gamma


def cartesian_mask(shape, acceleration: float = 4.0, center_fraction: float = 0.08, *, seed: int = 0) -> torch.Tensor:
    """A (H, W) 0/1 mask of sampled phase-encoding lines (columns), in the unshifted FFT layout."""
    H, W = shape
    if not acceleration >= 1:
        raise ValueError(f"acceleration must be >= 1, got {acceleration}")
    if not 0 <= center_fraction <= 1:
        raise ValueError(f"center_fraction must be in [0, 1], got {center_fraction}")
    n_keep = max(1, int(round(W / acceleration)))
    n_center = min(n_keep, int(round(W * center_fraction)))
    lines = torch.zeros(W, dtype=torch.bool)
    c0 = W // 2 - n_center // 2
    lines[c0:c0 + n_center] = True
    g = torch.Generator().manual_seed(seed)
    rest = torch.nonzero(~lines).reshape(-1)
    pick = rest[torch.randperm(rest.numel(), generator=g)[: n_keep - n_center]]
    lines[pick] = True
    mask = lines[None, :].expand(H, W).double()
    return torch.fft.ifftshift(mask, dim=(-2, -1))   # centred -> FFT layout


def _mirror(m: torch.Tensor) -> torch.Tensor:
    """m(-k) in FFT layout."""
    return torch.roll(m.flip(-2, -1), shifts=(1, 1), dims=(-2, -1))


class MRI(FourierDiagonal):
    """Single-coil Cartesian MRI y = m ⊙ F x on x: (B, 1, H, W) real."""

    name = "mri"
    complex_measurements = True
    singular_buffer, symbol_buffer = "sqrt_mbar", "mbar"

    def __init__(self, mask: torch.Tensor, x_shape):
        C, H, W = (int(v) for v in x_shape)
        super().__init__((C, H, W), (C, H, W))
        mask = torch.as_tensor(mask, dtype=torch.float64)
        if tuple(mask.shape) != (H, W):
            raise ValueError(f"mask shape {tuple(mask.shape)} does not match the image {(H, W)}")
        self.mask = mask
        self.mbar = 0.5 * (mask + _mirror(mask))
        self.sqrt_mbar = self.mbar.sqrt()

    def _forward(self, x):
        return self._buf("mask", x) * torch.fft.fft2(x, norm="ortho")

    def measurement_support(self, y):
        return self._buf("mask", y.real)

    def _adjoint(self, y):
        return torch.fft.ifft2(self._buf("mask", y.real) * y, norm="ortho").real

    def normal(self, x):
        return torch.fft.ifft2(self._buf("mbar", x) * torch.fft.fft2(x, norm="ortho"), norm="ortho").real

    def prox_l2(self, z, y, gamma, **_):
        self.check_x(z, "z")
        self.check_y(y)
        g = _gamma(gamma, z)
        num = torch.fft.fft2(z + g * self._adjoint(y), norm="ortho")
        return torch.fft.ifft2(num / (1 + g * self._buf("mbar", z)), norm="ortho").real


def coil_maps(n_coils: int, shape, *, seed: int = 0) -> torch.Tensor:
    """Synthetic smooth complex coil sensitivities (n_coils, H, W): Gaussian magnitude blobs around
    a circle with a slowly varying phase, normalised so that sum_c |S_c|² = 1."""
    H, W = shape
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, H, dtype=torch.float64), torch.linspace(-1, 1, W, dtype=torch.float64),
                            indexing="ij")
    maps = []
    for c in range(n_coils):
        phi = 2 * math.pi * c / n_coils + 0.3 * float(torch.rand(1, generator=g))
        cx, cy = 1.2 * math.cos(phi), 1.2 * math.sin(phi)
        mag = torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 0.9 ** 2))
        kx, ky = (torch.rand(2, generator=g, dtype=torch.float64) - 0.5) * 2
        phase = math.pi * (kx * xx + ky * yy) + 2 * math.pi * float(torch.rand(1, generator=g))
        maps.append(mag * torch.exp(1j * phase))
    S = torch.stack(maps)
    return S / torch.sqrt((S.abs() ** 2).sum(0, keepdim=True))


class MultiCoilMRI(LinearOperator):
    """y_c = m ⊙ F (S_c x) for each coil c; x: (B, 1, H, W) real, y: (B, n_coils, H, W) complex.
    Pseudo-inverse and prox by CG (no closed form)."""

    name = "mri_multicoil"
    complex_measurements = True

    def __init__(self, mask: torch.Tensor, maps: torch.Tensor, x_shape):
        C, H, W = (int(v) for v in x_shape)
        if C != 1:
            raise ValueError("multi-coil MRI works on single-channel images")
        maps = torch.as_tensor(maps).to(torch.complex128)
        if maps.ndim != 3 or tuple(maps.shape[1:]) != (H, W):
            raise ValueError(f"coil maps must be (n_coils, {H}, {W}), got {tuple(maps.shape)}")
        super().__init__((1, H, W), (maps.shape[0], H, W))
        self.mask = torch.as_tensor(mask, dtype=torch.float64)
        self.maps = maps

    def measurement_support(self, y):
        return self._buf("mask", y.real)

    def _forward(self, x):
        S = self._buf("maps", x, True)
        return self._buf("mask", x) * torch.fft.fft2(S[None] * x, norm="ortho")

    def _adjoint(self, y):
        S = self._buf("maps", y, True)
        img = torch.fft.ifft2(self._buf("mask", y.real) * y, norm="ortho")
        return (S.conj()[None] * img).sum(1, keepdim=True).real
