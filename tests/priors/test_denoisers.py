"""Classical denoisers (NL-means, BM3D, Wiener, patch low-rank) improve PSNR."""
import sys

import numpy as np
import pytest
import torch

import genprior as gp
from genprior.metrics import psnr
from genprior.priors.classical import BM3D, NLMeans, PatchLowRank, Wiener


D = torch.float64


# -- denoisers -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def noisy_camera():
    img = gp.data.image("camera", 64)
    noisy = img + 0.1 * torch.randn(img.shape, generator=torch.Generator().manual_seed(0))
    return img, noisy, float(psnr(noisy, img)[0])


# measured (camera 64², sigma 0.1, seed 0, noisy 20.06 dB): NLM 28.03, BM3D 28.70, Wiener 26.11, lowrank 28.48
@pytest.mark.parametrize("make,gain", [(NLMeans, 6.5), (Wiener, 4.5), (PatchLowRank, 7.0)],
                         ids=["nlm", "wiener", "lowrank"])
def test_denoiser_improves_psnr(make, gain, noisy_camera):
    img, noisy, p0 = noisy_camera
    out = make().denoise(noisy, 0.1)
    assert out.shape == img.shape and out.dtype == img.dtype
    assert float(psnr(out, img)[0]) > p0 + gain


def test_bm3d_improves_psnr(noisy_camera):
    pytest.importorskip("bm3d")
    img, noisy, p0 = noisy_camera
    assert float(psnr(BM3D().denoise(noisy, 0.1), img)[0]) > p0 + 7.0


def test_bm3d_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "bm3d", None)
    with pytest.raises(ImportError, match=r"pip install 'genprior\[bm3d\]'.*non-commercial"):
        BM3D()


def test_wiener_matches_scipy_in_the_interior(gen):
    from scipy.signal import wiener
    x = torch.rand(1, 1, 20, 24, generator=gen, dtype=D)
    out = Wiener(5).denoise(x, 0.2)[0, 0].numpy()
    ref = wiener(x[0, 0].numpy(), 5, 0.2 ** 2)
    assert np.abs(out - ref)[2:-2, 2:-2].max() < 1e-12


def test_denoisers_per_batch_sigma_rgb(gen):
    x = torch.rand(2, 3, 16, 16, generator=gen, dtype=torch.float32)
    sig = torch.tensor([0.05, 0.2])
    for den in (NLMeans(), Wiener(3)):
        out = den.denoise(x, sig)
        assert out.shape == x.shape and out.dtype == torch.float32
        assert torch.allclose(out[1:], den.denoise(x[1:], 0.2), atol=1e-6)
