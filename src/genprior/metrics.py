"""Metrics: PSNR, SSIM, data residual, sliced Wasserstein distance, coverage.

Images are (B, C, H, W) in [0, 1]; image metrics return one value per batch element.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import check_tensor


def _pair(x, ref):
    check_tensor(x, "x", finite=False)
    check_tensor(ref, "ref")
    if x.shape != ref.shape:
        if x.shape[1:] == ref.shape[1:] and ref.shape[0] == 1:
            ref = ref.expand_as(x)
        else:
            raise ValueError(f"shapes differ: x {tuple(x.shape)} vs ref {tuple(ref.shape)}")
    return x, ref


def psnr(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """10 log10(data_range² / MSE) per batch element."""
    x, ref = _pair(x, ref)
    mse = ((x.double() - ref.double()) ** 2).reshape(x.shape[0], -1).mean(1)
    return 10 * torch.log10(data_range ** 2 / mse.clamp_min(1e-30))


def _gauss_window(sigma: float, truncate: float = 3.5, dtype=torch.float64):
    r = int(truncate * sigma + 0.5)
    t = torch.arange(-r, r + 1, dtype=dtype)
    g = torch.exp(-t ** 2 / (2 * sigma ** 2))
    return g / g.sum(), r


def ssim(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) with a Gaussian window (sigma 1.5), averaged over
    channels and pixels away from the border, per batch element. Matches scikit-image's
    ``structural_similarity(gaussian_weights=True, use_sample_covariance=False)``."""
    x, ref = _pair(x, ref)
    x, ref = x.double(), ref.double()
    g, r = _gauss_window(sigma)
    C = x.shape[1]
    wh = g.reshape(1, 1, -1, 1).expand(C, 1, -1, 1)
    ww = g.reshape(1, 1, 1, -1).expand(C, 1, 1, -1)

    def filt(t):
        t = F.pad(t, (r, r, r, r), mode="reflect")
        return F.conv2d(F.conv2d(t, wh, groups=C), ww, groups=C)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = filt(x), filt(ref)
    sxx = filt(x * x) - mx * mx
    syy = filt(ref * ref) - my * my
    sxy = filt(x * ref) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))
    s = s[..., r:-r, r:-r] if s.shape[-1] > 2 * r and s.shape[-2] > 2 * r else s
    return s.reshape(s.shape[0], -1).mean(1)


def residual(operator, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Relative data residual ||A x - y|| / ||y|| per batch element."""
    r = operator.A(x) - y
    num = (r.abs() ** 2).reshape(r.shape[0], -1).sum(1).sqrt()
    den = (y.abs() ** 2).reshape(y.shape[0], -1).sum(1).sqrt().clamp_min(1e-30)
    return num / den


def sliced_wasserstein(X: torch.Tensor, Y: torch.Tensor, n_proj: int = 128, *,
                       generator: torch.Generator | None = None, p: int = 2) -> torch.Tensor:
    """Sliced p-Wasserstein distance between two point clouds X (N, d) and Y (M, d):
    (mean over random unit directions theta of W_p^p(theta^T X, theta^T Y))^(1/p).
    Sample counts may differ (quantiles are compared on a common grid)."""
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(f"need X (N, d) and Y (M, d) with the same d, got {tuple(X.shape)}, {tuple(Y.shape)}")
    X, Y = X.double(), Y.double()
    d = X.shape[1]
    theta = torch.randn(n_proj, d, generator=generator, dtype=torch.float64)
    theta = theta / theta.norm(dim=1, keepdim=True)
    px, _ = torch.sort(X @ theta.T, dim=0)
    py, _ = torch.sort(Y @ theta.T, dim=0)
    if px.shape[0] != py.shape[0]:
        n = max(px.shape[0], py.shape[0])
        q = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        px = torch.quantile(px, q, dim=0)
        py = torch.quantile(py, q, dim=0)
    return ((px - py).abs() ** p).mean(0).mean() ** (1 / p)


def coverage(samples: torch.Tensor, truth: torch.Tensor, level: float = 0.9) -> torch.Tensor:
    """Fraction of pixels whose truth lies in the central ``level`` interval of the samples
    (samples: (N, B, ...), truth: (B, ...)); per batch element."""
    lo = torch.quantile(samples.double(), (1 - level) / 2, dim=0)
    hi = torch.quantile(samples.double(), 1 - (1 - level) / 2, dim=0)
    inside = (truth.double() >= lo) & (truth.double() <= hi)
    return inside.reshape(inside.shape[0], -1).double().mean(1)

