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
