"""Random-ellipse phantoms for CT/MRI experiments (the 'ellipses' family of the CT literature).

Each phantom is an outer body ellipse plus a random number of inner ellipses with additive
intensities, with a soft one-pixel edge, clipped to [0, 1] and kept inside the inscribed circle
(the support that a parallel-beam scanner sees from every angle).
"""
from __future__ import annotations

import math

import torch


def phantoms(n: int, size: int = 64, *, generator: torch.Generator | None = None,
             min_ellipses: int = 3, max_ellipses: int = 10, dtype=torch.float32) -> torch.Tensor:
    """Return ``n`` random-ellipse phantoms, shape (n, 1, size, size), values in [0, 1]."""
    if n < 1 or size < 4:
        raise ValueError(f"need n >= 1 and size >= 4, got n={n}, size={size}")
    if not 0 <= min_ellipses <= max_ellipses:
        raise ValueError("need 0 <= min_ellipses <= max_ellipses")
    g = generator

    def u(*shape, lo=0.0, hi=1.0):
        return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=dtype)

    k = max_ellipses + 1
    # ellipse parameters, slot 0 is the body
    cx = torch.zeros(n, k, dtype=dtype)
    cy = torch.zeros(n, k, dtype=dtype)
    a = torch.zeros(n, k, dtype=dtype)
    b = torch.zeros(n, k, dtype=dtype)
    val = torch.zeros(n, k, dtype=dtype)
    cx[:, 0] = u(n, lo=-0.05, hi=0.05)
    cy[:, 0] = u(n, lo=-0.05, hi=0.05)
    a[:, 0] = u(n, lo=0.65, hi=0.88)
    b[:, 0] = u(n, lo=0.55, hi=0.85)
    val[:, 0] = u(n, lo=0.15, hi=0.45)
    r = 0.6 * torch.sqrt(u(n, k - 1))
    phi = u(n, k - 1, hi=2 * math.pi)
    cx[:, 1:] = r * torch.cos(phi)
    cy[:, 1:] = r * torch.sin(phi)
    a[:, 1:] = u(n, k - 1, lo=0.04, hi=0.35)
    b[:, 1:] = u(n, k - 1, lo=0.04, hi=0.35)
    val[:, 1:] = u(n, k - 1, lo=-0.25, hi=0.55)
    count = torch.randint(min_ellipses, max_ellipses + 1, (n, 1), generator=g)
    active = torch.cat([torch.ones(n, 1, dtype=torch.bool), torch.arange(1, k)[None] <= count], 1)
    val = val * active
    theta = u(n, k, hi=math.pi)

    lin = (torch.arange(size, dtype=dtype) + 0.5) / size * 2 - 1
    yy, xx = torch.meshgrid(lin, lin, indexing="ij")
    xx = xx[None, None]
    yy = yy[None, None]
    c, s = torch.cos(theta)[..., None, None], torch.sin(theta)[..., None, None]
    dx = xx - cx[..., None, None]
    dy = yy - cy[..., None, None]
    xr = (c * dx + s * dy) / a[..., None, None]
    yr = (-s * dx + c * dy) / b[..., None, None]
    rho = torch.sqrt(xr ** 2 + yr ** 2)
    # signed distance to the boundary, approximately in pixels, for a soft edge
    edge = (1 - rho) * torch.minimum(a, b)[..., None, None] * size / 2
    inside = torch.sigmoid(2.5 * edge)
    img = (inside * val[..., None, None]).sum(1, keepdim=True)
    disk = torch.sigmoid(2.5 * (1 - torch.sqrt(xx ** 2 + yy ** 2)) * size / 2)
    return (img * disk).clamp(0, 1)
