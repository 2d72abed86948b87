"""The denoiser methods on the denoising task."""

import genprior as gp


def test_denoiser_methods_on_the_denoising_task(gen):
    x = gp.data.image("camera", 64)
    p = gp.tasks.make("denoise", (1, 64, 64), sigma_y=0.1)
    y = p.measure(x, generator=gen)
    for m in ("nlm", "lowrank"):
        r = gp.solve(p, y, method=m)
        assert float(gp.metrics.psnr(r.x, x)) > float(gp.metrics.psnr(y, x)) + 6, m
