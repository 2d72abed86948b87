"""Classical Gaussian denoisers with the shared ``denoise(x, sigma)`` (sigma on the [0, 1] scale,
a float or a (B,) tensor): NL-means (scikit-image), BM3D (the optional ``bm3d`` package) and the
local-statistics Wiener filter (torch). NL-means and BM3D run per image through numpy (CPU,
float64) and return x's dtype and device.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._checks import check_positive
from .base import Prior
from .._checks import batch_param, check_image


def _per_image(x: torch.Tensor, sigma, fn) -> torch.Tensor:
    """Apply ``fn(array (H, W) or (H, W, C), sigma: float) -> array`` to each image of the batch."""
    s = batch_param(sigma, check_image(x), "sigma").flatten().tolist()
    out = []
    for b in range(x.shape[0]):
        a = x[b].detach().to("cpu", torch.float64)
        a = a[0].numpy() if a.shape[0] == 1 else a.permute(1, 2, 0).numpy()
        r = torch.from_numpy(fn(a, s[b]).reshape(a.shape).copy())
        out.append(r[None] if r.ndim == 2 else r.permute(2, 0, 1))
    return torch.stack(out).to(dtype=x.dtype, device=x.device)


class NLMeans(Prior):
    """Non-local means (Buades, Coll & Morel 2005) via ``skimage.restoration.denoise_nl_means``
    with ``sigma`` given, filtering strength h = ``h_factor`` sigma and ``fast_mode``. Colour
    images are denoised jointly (patch distances over all channels)."""

    capabilities = frozenset({"denoise"})
    name = "nlm"

    def __init__(self, patch_size: int = 5, patch_distance: int = 6, h_factor: float = 0.8, fast_mode: bool = True):
        for key, v in (("patch_size", patch_size), ("patch_distance", patch_distance)):
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{key} must be an int >= 1, got {v!r}")
        self.patch_size, self.patch_distance = patch_size, patch_distance
        self.h_factor = check_positive(h_factor, "h_factor")
        self.fast_mode = bool(fast_mode)
        self.config = dict(patch_size=patch_size, patch_distance=patch_distance, h_factor=h_factor,
                           fast_mode=fast_mode)

    def denoise(self, x: torch.Tensor, sigma) -> torch.Tensor:
        from skimage.restoration import denoise_nl_means

        def fn(a, s):
            if s == 0:
                return a
            return denoise_nl_means(a, patch_size=self.patch_size, patch_distance=self.patch_distance,
                                    h=self.h_factor * s, sigma=s, fast_mode=self.fast_mode,
                                    channel_axis=-1 if a.ndim == 3 else None)
        return _per_image(x, sigma, fn)

    def __repr__(self) -> str:
        return (f"NLMeans(patch_size={self.patch_size}, patch_distance={self.patch_distance}, "
                f"h_factor={self.h_factor}, fast_mode={self.fast_mode})")


BM3D_MISSING = ("BM3D needs the optional 'bm3d' package: pip install 'genprior[bm3d]'. "
                "Note: bm3d is licensed for non-commercial use only.")


class BM3D(Prior):
    """BM3D (Dabov et al. 2007) via the ``bm3d`` package (Makinen, Azzari & Foi 2020), with
    ``sigma_psd`` = sigma; 3-channel images go through ``bm3d_rgb`` (opponent colour space), other
    channel counts are denoised channel by channel. Licensed for non-commercial use only."""

    capabilities = frozenset({"denoise"})
    name = "bm3d"

    def __init__(self, profile: str = "np"):
        try:
            import bm3d  # noqa: F401
        except ImportError as e:
            raise ImportError(BM3D_MISSING) from e
        if profile not in ("np", "refilter", "vn", "vn_old", "high", "deb"):
            raise ValueError(f"unknown BM3D profile {profile!r}; known: np, refilter, vn, vn_old, high, deb")
        self.profile = profile
        self.config = dict(profile=profile)

    def denoise(self, x: torch.Tensor, sigma) -> torch.Tensor:
        import bm3d
        import numpy as np

        def fn(a, s):
            if s == 0:
                return a
            if a.ndim == 3 and a.shape[2] == 3:
                return bm3d.bm3d_rgb(a, sigma_psd=s, profile=self.profile)
            if a.ndim == 2:
                return bm3d.bm3d(a, sigma_psd=s, profile=self.profile)
            return np.stack([bm3d.bm3d(a[..., c], sigma_psd=s, profile=self.profile) for c in range(a.shape[2])], -1)
        return _per_image(x, sigma, fn)

    def __repr__(self) -> str:
        return f"BM3D(profile={self.profile!r})"


class Wiener(Prior):
    """The local-statistics (adaptive) Wiener filter (Lee 1980; as MATLAB ``wiener2`` and
    ``scipy.signal.wiener``): with mu, v the mean and variance of x over a ``size`` x ``size``
    window (reflect padding), x_hat = mu + max(v - sigma², 0) / max(v, sigma²) (x - mu)."""

    capabilities = frozenset({"denoise"})
    name = "wiener"

    def __init__(self, size: int = 5):
        if not (isinstance(size, int) and size >= 1 and size % 2 == 1):
            raise ValueError(f"size must be an odd int >= 1, got {size!r}")
        self.size = size
        self.config = dict(size=size)

    def _local_mean(self, x):
        r = self.size // 2
        mode = "reflect" if min(x.shape[-2:]) > r else "replicate"
        return F.avg_pool2d(F.pad(x, (r, r, r, r), mode=mode), self.size, stride=1)

    def denoise(self, x: torch.Tensor, sigma) -> torch.Tensor:
        s2 = batch_param(sigma, check_image(x), "sigma") ** 2
        mu = self._local_mean(x)
        v = (self._local_mean(x * x) - mu * mu).clamp_min(0)
        gain = (v - s2).clamp_min(0) / torch.maximum(v, s2).clamp_min(torch.finfo(x.dtype).tiny)
        return mu + gain * (x - mu)

    def __repr__(self) -> str:
        return f"Wiener(size={self.size})"
