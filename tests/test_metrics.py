"""genprior.metrics: PSNR / SSIM against scikit-image, sliced Wasserstein against a closed form."""
import numpy as np
import pytest
import torch

import genprior as gp


def test_psnr_and_ssim_match_scikit_image(gen):
    skm = pytest.importorskip("skimage.metrics")
    x = torch.rand(2, 1, 40, 40, generator=gen, dtype=torch.float64)
    y = (x + 0.1 * torch.randn(x.shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    p = gp.metrics.psnr(y, x)
    s = gp.metrics.ssim(y, x)
    for b in range(2):
        assert abs(float(p[b]) - skm.peak_signal_noise_ratio(x[b, 0].numpy(), y[b, 0].numpy(), data_range=1)) < 1e-9
        ref = skm.structural_similarity(x[b, 0].numpy(), y[b, 0].numpy(), data_range=1, gaussian_weights=True,
                                        sigma=1.5, use_sample_covariance=False)
        assert abs(float(s[b]) - ref) < 2e-3
    assert float(gp.metrics.ssim(x, x).min()) > 0.9999


def test_sliced_wasserstein_detects_a_shift(gen):
    X = torch.randn(2000, 5, generator=gen)
    Y = torch.randn(2000, 5, generator=gen)
    same = float(gp.metrics.sliced_wasserstein(X, Y, generator=gen))
    shifted = float(gp.metrics.sliced_wasserstein(X, Y + 1.0, generator=gen))
    assert same < 0.1 and shifted > 0.3
    # a shift by a vector v: sliced W2 = |v| sqrt(E[(theta.u)^2]) = |v| / sqrt(d)
    assert abs(shifted - np.sqrt(5) / np.sqrt(5)) < 0.15
