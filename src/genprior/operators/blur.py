"""Blur: circular convolution through the FFT (diagonal in Fourier, so SVD-decomposable) and a
'valid' convolution (no boundary assumption) whose adjoint is the full transposed convolution.

Kernels: Gaussian with std ``sigma`` and random motion blur from a seed (a random smooth camera
trajectory splatted on a grid, after Boracchi & Foi 2012).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import FourierDiagonal, LinearOperator, _gamma


def gaussian_kernel(std: float, size: int | None = None, dtype=torch.float64) -> torch.Tensor:
    if not std > 0:
        raise ValueError(f"blur std must be > 0, got {std}")
    size = size or 2 * math.ceil(3 * std) + 1
    r = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-r ** 2 / (2 * std ** 2))
    k = g[:, None] * g[None, :]
    return k / k.sum()


def motion_kernel(size: int = 15, *, seed: int = 0, length: float = 1.0, steps: int = 200,
                  dtype=torch.float64) -> torch.Tensor:
    """A random motion-blur kernel: a random-walk trajectory with momentum, scaled to fit the
    kernel, splatted with bilinear weights and normalised to sum 1. Deterministic in ``seed``."""
    if size < 3:
        raise ValueError(f"motion kernel size must be >= 3, got {size}")
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(2, generator=g, dtype=torch.float64)
    v = v / v.norm()
    pos = torch.zeros(steps, 2, dtype=torch.float64)
    p = torch.zeros(2, dtype=torch.float64)
    for i in range(steps):
        v = 0.95 * v + 0.35 * torch.randn(2, generator=g, dtype=torch.float64) / math.sqrt(steps) * 10
        v = v / v.norm()
        p = p + v
        pos[i] = p
    pos = pos - pos.mean(0)
    extent = pos.abs().max().clamp_min(1e-9)
    pos = pos / extent * (size - 1) / 2 * length * 0.98 + (size - 1) / 2
    k = torch.zeros(size, size, dtype=torch.float64)
    i0 = pos.floor().long().clamp(0, size - 2)
    f = pos - i0
    for di in (0, 1):
        for dj in (0, 1):
            w = (f[:, 0] if di else 1 - f[:, 0]) * (f[:, 1] if dj else 1 - f[:, 1])
            k.index_put_((i0[:, 0] + di, i0[:, 1] + dj), w, accumulate=True)
    return (k / k.sum()).to(dtype)


def _check_kernel(kernel: torch.Tensor) -> torch.Tensor:
    kernel = torch.as_tensor(kernel, dtype=torch.float64)
    if kernel.ndim != 2:
        raise ValueError(f"blur kernel must be 2-D, got shape {tuple(kernel.shape)}")
    if not bool(torch.isfinite(kernel).all()):
        raise ValueError("blur kernel contains NaN or Inf")
    return kernel


class BlurFFT(FourierDiagonal):
    """Circular convolution A x = k ⊛ x (kernel centred), diagonal in the orthonormal 2-D DFT:
    A = F^H diag(h) F with h = fft2(k) placed so that its centre is at the origin."""

    name = "blur_fft"
    singular_buffer = "abs_h"

    def __init__(self, kernel: torch.Tensor, x_shape):
        super().__init__(x_shape, x_shape)
        kernel = _check_kernel(kernel)
        C, H, W = self.x_shape
        kh, kw = kernel.shape
        if kh > H or kw > W:
            raise ValueError(f"kernel {tuple(kernel.shape)} is larger than the image {(H, W)}")
        pad = torch.zeros(H, W, dtype=torch.float64)
        pad[:kh, :kw] = kernel
        pad = torch.roll(pad, shifts=(-(kh // 2), -(kw // 2)), dims=(0, 1))
        self.kernel = kernel
        self.h = torch.fft.fft2(pad)                # (H, W) complex transfer function
        self.hr = torch.fft.rfft2(pad)              # half spectrum for the fast path
        self.abs_h = self.h.abs()

    def _forward(self, x):
        X = torch.fft.rfft2(x)
        return torch.fft.irfft2(X * self._buf("hr", x, True), s=x.shape[-2:])

    def _adjoint(self, y):
        X = torch.fft.rfft2(y)
        return torch.fft.irfft2(X * self._buf("hr", y, True).conj(), s=y.shape[-2:])

    # SVD (FourierDiagonal): V^T = orthonormal DFT, singular values |h|, the phase of h goes into U.
    def prox_l2(self, z, y, gamma, **_):
        """Closed form in Fourier: (I + gamma A^T A)^{-1} (z + gamma A^T y)."""
        self.check_x(z, "z")
        self.check_y(y)
        g = _gamma(gamma, z)
        hr = self._buf("hr", z, True)
        num = torch.fft.rfft2(z) + g * hr.conj() * torch.fft.rfft2(y)
        return torch.fft.irfft2(num / (1 + g * (hr.real ** 2 + hr.imag ** 2)), s=z.shape[-2:])


class BlurValid(LinearOperator):
    """'Valid' convolution: y has shape (C, H-kh+1, W-kw+1); no boundary assumption.
    A^T is the full transposed convolution. Pseudo-inverse and prox by CG."""

    name = "blur_valid"

    def __init__(self, kernel: torch.Tensor, x_shape):
        kernel = _check_kernel(kernel)
        C, H, W = (int(v) for v in x_shape)
        kh, kw = kernel.shape
        if kh > H or kw > W:
            raise ValueError(f"kernel {tuple(kernel.shape)} is larger than the image {(H, W)}")
        super().__init__((C, H, W), (C, H - kh + 1, W - kw + 1))
        self.kernel = kernel
        # conv2d is a correlation: flip so that A is a true convolution
        self.weight = kernel.flip(0, 1)[None, None]

    def _forward(self, x):
        C = x.shape[1]
        w = self._buf("weight", x).expand(C, 1, -1, -1)
        return F.conv2d(x, w, groups=C)

    def _adjoint(self, y):
        # the transposed 'valid' convolution is a 'full' correlation with the flipped kernel:
        # zero-pad by k-1 and convolve (much faster than conv_transpose2d on CPU)
        C = y.shape[1]
        w = self._buf("weight", y).flip(-2, -1).expand(C, 1, -1, -1)
        kh, kw = self.kernel.shape
        return F.conv2d(F.pad(y, (kw - 1, kw - 1, kh - 1, kh - 1)), w, groups=C)
