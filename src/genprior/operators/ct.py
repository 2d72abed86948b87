"""Parallel-beam CT: the Radon transform with an exact adjoint, and filtered back-projection.

Forward model (ray-driven): for each angle theta and detector position t, the line integral is the
sum of bilinearly interpolated image values at unit-spaced points along the ray
``(t cos th - s sin th, t sin th + s cos th)`` (pixel units, image centre at the origin). It is
computed for all rays at once with ``grid_sample``; the adjoint is the exact transpose of that
interpolation (``grid_sampler_2d_backward``: scatter of the same bilinear weights), so the
dot-product test holds to rounding error. Geometry as scikit-image's ``radon(circle=True)``:
n_det = image width, the image is assumed zero outside its inscribed circle.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import LinearOperator


class Radon(LinearOperator):
    """y: (B, C, n_angles, n_det) sinogram of x: (B, C, N, N); angles in degrees over [0, 180)."""

    name = "radon"

    def __init__(self, x_shape, n_angles: int = 60, *, angles=None):
        C, H, W = (int(v) for v in x_shape)
        if H != W:
            raise ValueError(f"Radon needs square images, got {H}x{W}")
        if angles is None:
            if n_angles < 1:
                raise ValueError(f"n_angles must be >= 1, got {n_angles}")
            angles = torch.arange(n_angles, dtype=torch.float64) * 180.0 / n_angles
        angles = torch.as_tensor(angles, dtype=torch.float64).reshape(-1)
        super().__init__((C, H, W), (C, angles.numel(), W))
        self.angles = angles
        N = W
        th = angles * math.pi / 180
        t = (torch.arange(N, dtype=torch.float64) - (N - 1) / 2)      # detector, pixel units
        s = (torch.arange(N, dtype=torch.float64) - (N - 1) / 2)      # along the ray
        c, sn = torch.cos(th)[:, None, None], torch.sin(th)[:, None, None]
        px = t[None, None, :] * c - s[None, :, None] * sn           # (nA, Ns, Nd) column coordinate
        py = -(t[None, None, :] * sn + s[None, :, None] * c)         # row coordinate (rows point down)
        # normalise to grid_sample's [-1, 1] (align_corners=False): pixel i centre at (2i+1)/N - 1
        gx = (px + (N - 1) / 2 + 0.5) * 2 / N - 1
        gy = (py + (N - 1) / 2 + 0.5) * 2 / N - 1
        self.grid = torch.stack([gx, gy], dim=-1).reshape(1, -1, N, 2)   # (1, nA*Ns, Nd, 2)
        self.n_angles, self.n_det = angles.numel(), N

    def _forward(self, x):
        B, C, H, W = x.shape
        out = F.grid_sample(x.reshape(1, B * C, H, W), self._buf("grid", x), mode="bilinear",
                            padding_mode="zeros", align_corners=False)
        return out.reshape(B, C, self.n_angles, H, W).sum(3)

    def _adjoint(self, y):
        B, C, nA, Nd = y.shape
        N = self.x_shape[-1]
        g = y[:, :, :, None, :].expand(B, C, nA, N, Nd).reshape(1, B * C, nA * N, Nd)
        shape_only = torch.zeros((1, B * C, N, N), dtype=y.dtype, device=y.device)
        grad_in, _ = torch.ops.aten.grid_sampler_2d_backward(g, shape_only, self._buf("grid", y), 0, 0, False,
                                                             [True, False])
        return grad_in.reshape(B, C, N, N)

    def fbp(self, y: torch.Tensor, filter: str = "ramp") -> torch.Tensor:
        """Filtered back-projection: ramp-filter each projection (spatially band-limited ramp of
        Kak & Slaney, eq. 61, zero-padded), back-project with A^T and weight by pi / (2 n_angles)."""
        self.check_y(y)
        n = self.n_det
        size = max(64, 2 ** int(math.ceil(math.log2(2 * n))))
        k = torch.cat([torch.arange(1, size // 2 + 1, 2), torch.arange(size // 2 - 1, 0, -2)]).to(torch.float64)
        f = torch.zeros(size, dtype=torch.float64)
        f[0] = 0.25
        f[1::2] = -1 / (math.pi * k) ** 2
        ramp = 2 * torch.fft.fft(f).real
        if filter == "shepp-logan":
            freq = torch.fft.fftfreq(size, dtype=torch.float64)
            ramp = ramp * torch.sinc(freq)
        elif filter != "ramp":
            raise ValueError(f"unknown FBP filter {filter!r}; known: ramp, shepp-logan")
        Y = torch.fft.fft(F.pad(y, (0, size - n)), dim=-1)
        filtered = torch.fft.ifft(Y * ramp.to(device=y.device, dtype=y.dtype), dim=-1).real[..., :n]
        return self._adjoint(filtered.contiguous()) * (math.pi / (2 * self.n_angles))
