"""The wavelet / dct methods: FISTA and ADMM agree; their defaults beat mle."""
import pytest
import torch

import genprior as gp


D = torch.float64


def test_wavelet_fista_and_admm_agree(gen):
    x = gp.data.image("camera", 32, dtype=D)
    p = gp.tasks.make("sr4", (1, 32, 32), sigma_y=0.01, factor=2)
    y = p.measure(x, generator=gen)
    f = gp.solve(p, y, method="wavelet", lam=0.002, wavelet="db2", levels=2, shifts=1, max_iter=5000, tol=1e-10)
    a = gp.solve(p, y, method="wavelet", lam=0.002, wavelet="db2", levels=2, shifts=1, solver="admm", rho=0.02,
                 max_iter=5000, tol=1e-10)
    prior = gp.priors.WaveletL1("db2", 2)

    def obj(z):
        return float(0.5 * ((p.operator.A(z) - y) ** 2).sum() + 0.002 * prior.value(z).sum())
    assert abs(obj(f.x) - obj(a.x)) / obj(f.x) < 1e-4


def test_shift_invariant_wavelet_admm_matches_fista_with_the_exact_prox(gen):
    x = gp.data.image("camera", 16, dtype=D)
    p = gp.tasks.make("sr4", (1, 16, 16), sigma_y=0.01, factor=2)
    y = p.measure(x, generator=gen)
    kw = dict(lam=0.003, wavelet="haar", levels=1, shifts=2, tol=1e-10)
    a = gp.solve(p, y, method="wavelet", solver="admm", rho=0.03, max_iter=600, **kw)
    f = gp.solve(p, y, method="wavelet", solver="fista", max_iter=40, **kw)
    prior = gp.priors.WaveletFrameL1("haar", 1, shifts=2)

    def obj(z):
        return float(0.5 * ((p.operator.A(z) - y) ** 2).sum() + 0.003 * prior.value(z).sum())
    assert abs(obj(a.x) - obj(f.x)) / obj(f.x) < 1e-3
    assert a.info["solver"] == "admm"


@pytest.mark.parametrize("method,options,gain", [("wavelet", {}, 5.0), ("wavelet", {"shifts": 1}, 5.0), ("dct", {}, 5.0)])
def test_defaults_beat_mle_on_deblurring(method, options, gain, deblur_small):
    p, y, psnr_of, mle = deblur_small
    assert psnr_of(gp.solve(p, y, method, prior=None, **options)) > mle + gain


@pytest.mark.parametrize("method,options,gain", [("wavelet", {}, 1.0), ("dct", {}, 0.8)])
def test_defaults_beat_mle_on_denoising(method, options, gain, denoise_small):
    p, y, psnr_of, mle = denoise_small
    assert psnr_of(gp.solve(p, y, method, prior=None, **options)) > mle + gain


def _camera32(task, **opts):
    x = gp.data.image("camera", 32, dtype=D)
    p = gp.tasks.make(task, (1, 32, 32), sigma_y=0.01, **opts)
    y = p.measure(x, generator=torch.Generator().manual_seed(0))
    return p, y, lambda r: float(gp.metrics.psnr(r.x.clamp(0, 1), x))


def test_dct_default_is_the_block_frame_and_its_auto_lam_is_near_the_best_lam():
    """Random inpainting (30% kept), camera 32², sigma_y = 0.01. The global DCT's minimiser is poor at
    every lam (measured 20.25 dB at the discrepancy lam); the default shift-invariant 8 x 8 block-DCT frame
    gives 23.44 dB, and its discrepancy lam (tau = 0.9) is within 0.3 dB of the best of
    lam_auto * {1/4, 1/2, 2, 4} solved to convergence (measured best 23.55 dB at lam/4)."""
    p, y, psnr_of = _camera32("inpaint_random", keep=0.3)
    r = gp.solve(p, y, "dct")
    assert r.info["block"] == 8 and r.info["solver"] == "admm" and r.info["lam_rule"].startswith("discrepancy")
    glob = gp.solve(p, y, "dct", block=None)
    assert psnr_of(r) > psnr_of(glob) + 2.5
    lam = r.info["lam"]
    best = max(psnr_of(gp.solve(p, y, "dct", lam=lam * f, max_iter=1000, tol=1e-6)) for f in (0.25, 0.5, 2, 4))
    assert psnr_of(r) > best - 0.3


def test_dct_block_falls_back_to_a_divisor_of_the_image_size():
    """28² (Fashion-MNIST) images: 8 does not divide 28, the largest block in 4..8 that does is 7; a
    size with none (29²) uses the global DCT."""
    for n, block in ((28, 7), (29, None)):
        p = gp.tasks.make("denoise", (1, n, n), sigma_y=0.1)
        y = p.measure(torch.full((1, 1, n, n), 0.5, dtype=D), generator=torch.Generator().manual_seed(0))
        r = gp.solve(p, y, "dct", lam=0.01, max_iter=20)
        assert r.info["block"] == block and bool(torch.isfinite(r.x).all())
    with pytest.raises(ValueError, match="block"):
        gp.solve(p, y, "dct", block=1)
