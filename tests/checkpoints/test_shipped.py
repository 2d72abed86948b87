"""The priors that ship inside the package: they load, say how they were trained, and denoise
held-out images of their domain far better than the noisy input."""
import pytest
import torch

import genprior as gp

SHIPPED = gp.priors.shipped()


def held_out(name, shape, n):
    if "phantom" in name:
        return gp.data.phantoms(n, shape[-1], generator=torch.Generator().manual_seed(10_000))
    if "fashion" in name:
        try:
            return gp.data.fashion_mnist("test")[:n]
        except FileNotFoundError as e:
            pytest.skip(str(e))
    pytest.skip(f"no held-out data known for {name}")


def test_the_issue_priors_ship():
    assert {"diffusion-phantom64", "diffusion-fashion28"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_prior_records_its_training(name):
    prior = gp.priors.load(name)
    tr = prior.config["training"]
    assert tr["steps_done"] >= 1000 and tr["seed"] == 0 and tr["wall_time_s"] > 0
    assert tuple(prior.image_shape) == tuple(prior.config["image_shape"])
    assert sum(p.numel() for p in prior.net.parameters()) > 100_000


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_prior_denoises_held_out_images(name):
    prior = gp.priors.load(name)
    x = held_out(name, prior.image_shape, 4)
    y = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        d = prior.denoise(y, 0.1).clamp(0, 1)
    noisy, den = float(gp.metrics.psnr(y.clamp(0, 1), x).mean()), float(gp.metrics.psnr(d, x).mean())
    # measured at release: phantom64 +17 dB, fashion28 +8 dB over the ~20 dB input
    assert den > noisy + 6.0, (name, noisy, den)
