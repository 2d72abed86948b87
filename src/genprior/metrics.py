"""Metrics: PSNR, SSIM, data residual, sliced Wasserstein distance, coverage, FID.

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


def coverage(samples: torch.Tensor, truth: torch.Tensor, level: float = 0.9,
             weights: torch.Tensor | None = None) -> torch.Tensor:
    """Fraction of pixels whose truth lies in the central ``level`` interval of the samples
    (samples: (N, B, ...), truth: (B, ...)); per batch element. ``weights`` (N, B), >= 0: a
    weighted sample set (e.g. an SMC sampler's final particles), whose interval ends are the
    weighted quantiles Q(p) = min{v_(j) : sum_{i <= j} w_(i) >= p sum w} (inverted CDF, per pixel);
    without weights the quantiles interpolate linearly (torch.quantile)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if weights is None:
        lo = torch.quantile(samples.double(), (1 - level) / 2, dim=0)
        hi = torch.quantile(samples.double(), 1 - (1 - level) / 2, dim=0)
    else:
        lo, hi = _weighted_interval(samples, weights, level)
    inside = (truth.double() >= lo) & (truth.double() <= hi)
    return inside.reshape(inside.shape[0], -1).double().mean(1)


def calibration(samples: torch.Tensor, truth: torch.Tensor, levels=(0.5, 0.8, 0.9, 0.95),
                weights: torch.Tensor | None = None) -> dict:
    """Calibration of a sample set (N, B, ...) against the truth (B, ...), over all pixels x batch
    elements, in float64: ``cov50`` ... (the :func:`coverage` at each level), ``corr_std_err`` (the
    correlation of the posterior std with the error of the posterior mean; nan when undefined),
    ``mean_std``, ``rmse`` and the mean / std tensors themselves (``mean``, ``std``); ``weights`` (N, B)
    as in :func:`coverage` (weighted mean and std)."""
    out = {f"cov{int(round(lv * 100))}": float(coverage(samples, truth, lv, weights=weights).mean()) for lv in levels}
    s = samples.double()
    if weights is None:
        mean, std = s.mean(0), s.std(0)
    else:
        w = (weights / weights.sum(0)).double().reshape(*weights.shape, *[1] * (samples.ndim - 2))
        mean = (w * s).sum(0)
        std = (w * (s - mean) ** 2).sum(0).sqrt()
    err = (mean - truth.double()).abs().reshape(-1)
    sd = std.reshape(-1)
    c = torch.corrcoef(torch.stack([sd, err]))[0, 1]
    out.update(corr_std_err=float(c) if torch.isfinite(c) else float("nan"), mean_std=float(sd.mean()),
               rmse=float(err.pow(2).mean().sqrt()), mean=mean, std=std)
    return out


def _weighted_interval(samples: torch.Tensor, weights: torch.Tensor, level: float):
    N, B = samples.shape[:2]
    if tuple(weights.shape) != (N, B):
        raise ValueError(f"weights must be (N, B) = ({N}, {B}) for samples of shape {tuple(samples.shape)}, "
                         f"got {tuple(weights.shape)}")
    w = weights.double()
    if not bool((w >= 0).all()) or not bool((w.sum(0) > 0).all()):
        raise ValueError("weights must be >= 0 with a positive sum per batch element")
    w = (w / w.sum(0)).reshape(N, B, *[1] * (samples.ndim - 2)).expand(samples.shape)
    vals, order = torch.sort(samples.double(), dim=0)
    cdf = torch.cumsum(torch.gather(w, 0, order), 0)
    ends = []
    for p in ((1 - level) / 2, 1 - (1 - level) / 2):
        j = (cdf < p - 1e-12).sum(0, keepdim=True).clamp_max(N - 1)
        ends.append(torch.gather(vals, 0, j)[0])
    return ends



# -- FID --------------------------------------------------------------------------------------------
FID_EXTRACTOR = "classifier-fashion28"     # the shipped checkpoint whose features define gp.metrics.fid


def fid_extractor(path=None):
    """The FID feature network: the project's Fashion-MNIST classifier (``nets.classifier``), loaded
    from ``path`` (a checkpoint folder) or the shipped ``checkpoints/classifier-fashion28``; eval mode,
    no gradients. ``extractor.features(x)`` gives the penultimate features phi(x), (B, feature_dim)."""
    from pathlib import Path
    from .nets.checkpoint import CheckpointError, load_checkpoint, read_config
    from .priors.registry import CHECKPOINT_DIR
    path = Path(path) if path is not None else CHECKPOINT_DIR / FID_EXTRACTOR
    if read_config(path).get("kind") != "classifier":
        raise CheckpointError(f"{path}: not a classifier checkpoint (kind {read_config(path).get('kind')!r})")
    net, _ = load_checkpoint(path)
    return net.requires_grad_(False).eval()


@torch.no_grad()
def fid_features(x: torch.Tensor, extractor=None, batch_size: int = 500) -> torch.Tensor:
    """phi(x) (N, d) in float64 for images x (N, C, H, W) on [0, 1], in batches; ``extractor`` is a
    module with ``features`` (default :func:`fid_extractor`) or any callable x -> (B, d)."""
    check_tensor(x, "x")
    extractor = fid_extractor() if extractor is None else extractor
    f = getattr(extractor, "features", extractor)
    p = next(extractor.parameters(), None) if isinstance(extractor, torch.nn.Module) else None
    out = []
    for i in range(0, x.shape[0], batch_size):
        xb = x[i:i + batch_size]
        if p is not None:
            xb = xb.to(device=p.device, dtype=p.dtype)
        out.append(f(xb).double().cpu())
    return torch.cat(out).reshape(x.shape[0], -1)


def frechet_distance(mu_a, cov_a, mu_b, cov_b) -> float:
    """||mu_a - mu_b||² + tr(C_a + C_b - 2 (C_a C_b)^(1/2)) (Dowson & Landau 1982; Heusel et al. 2017),
    in float64 with scipy.linalg.sqrtm (its tiny imaginary part from round-off dropped)."""
    import numpy as np
    from scipy import linalg
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():            # singular product: regularise as Heusel et al.'s code does
        eps = 1e-6 * np.eye(cov_a.shape[0])
        covmean = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    covmean = np.real(covmean)
    d = mu_a - mu_b
    return float(d @ d + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def feature_stats(features: torch.Tensor):
    """(mean, covariance) of features (N, d) in float64 numpy (unbiased covariance, as Heusel et al.)."""
    import numpy as np
    f = features.double().cpu().numpy()
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need features (N >= 2, d), got {tuple(f.shape)}")
    return f.mean(0), np.cov(f, rowvar=False)


def fid(x_a: torch.Tensor, x_b: torch.Tensor, extractor=None, batch_size: int = 500) -> float:
    """Fréchet distance between the Gaussians fitted to phi(x_a) and phi(x_b), phi the penultimate
    features of the project's Fashion-MNIST classifier (:func:`fid_extractor`) unless ``extractor``
    is given: FID = ||mu_a - mu_b||² + tr(C_a + C_b - 2 (C_a C_b)^(1/2)). Biased at small N (it falls as
    N grows): compare FIDs only at equal N."""
    extractor = fid_extractor() if extractor is None else extractor
    fa = fid_features(x_a, extractor, batch_size)
    fb = fid_features(x_b, extractor, batch_size)
    return frechet_distance(*feature_stats(fa), *feature_stats(fb))
