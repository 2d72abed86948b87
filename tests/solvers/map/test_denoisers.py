"""The denoiser methods (nlm, bm3d, lowrank): on the denoising task, and their defaults."""
import pytest

import genprior as gp


def test_denoiser_methods_on_the_denoising_task(gen):
    x = gp.data.image("camera", 64)
    p = gp.tasks.make("denoise", (1, 64, 64), sigma_y=0.1)
    y = p.measure(x, generator=gen)
    for m in ("nlm", "lowrank"):
        r = gp.solve(p, y, method=m)
        assert float(gp.metrics.psnr(r.x, x)) > float(gp.metrics.psnr(y, x)) + 6, m


@pytest.mark.parametrize("method,options,gain", [("nlm", {}, 5.0), ("lowrank", {}, 5.0)])
def test_defaults_beat_mle_on_deblurring(method, options, gain, deblur_small):
    p, y, psnr_of, mle = deblur_small
    assert psnr_of(gp.solve(p, y, method, prior=None, **options)) > mle + gain


@pytest.mark.parametrize("method,options,gain", [("nlm", {}, 1.0), ("lowrank", {}, 1.0)])
def test_defaults_beat_mle_on_denoising(method, options, gain, denoise_small):
    p, y, psnr_of, mle = denoise_small
    assert psnr_of(gp.solve(p, y, method, prior=None, **options)) > mle + gain
