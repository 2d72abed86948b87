"""Consistency priors: the boundary condition f(x, σ_min) = x exactly, the image-scale formula equals
the network-unit parameterisation, generate() is deterministic in its latent (re-noising included),
checkpoint round trip, and the x0 / generate solvers accept it."""
import pytest
import torch

import genprior as gp
from genprior.nets.checkpoint import save_checkpoint
from genprior.nets.unet import UNet
from genprior.priors.consistency import (ConsistencyParameterization, ConsistencyPrior, consistency_coefficients,
                                         default_step_sigmas)
from genprior.priors.diffusion import NetworkDiffusionPrior


def tiny_cm(dtype=torch.float32, steps=1, size=8):
    g = torch.Generator().manual_seed(0)
    net = UNet(in_channels=1, channels=(8, 16), attn_levels=())
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.05 * torch.randn(p.shape, generator=g))
    return ConsistencyPrior(net.to(dtype), image_shape=(1, size, size), steps=steps)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_boundary_condition_is_exact(dtype):
    cm = tiny_cm(dtype)
    g = torch.Generator().manual_seed(1)
    x = (3 * torch.randn(4, 1, 8, 8, generator=g) + 0.5).to(dtype)
    assert torch.equal(cm.x0(x, cm.sigma_min), x)                       # bit for bit
    assert torch.equal(cm.x0(x, torch.full((4,), cm.sigma_min, dtype=dtype)), x)
    assert torch.equal(cm.x0(x, cm.sigma_min / 10), x)                  # below σ_min: clamped
    away = (cm.x0(x, 0.3) - x).abs().max()
    assert away > 1e-3                                                  # the network does act elsewhere
    # the coefficients themselves at σ_min (network units)
    c_skip, c_out = consistency_coefficients(torch.zeros(1, dtype=dtype), torch.full((1,), 0.002, dtype=dtype), 0.5)
    assert float(c_skip) == 1.0 and float(c_out) == 0.0


def test_image_scale_formula_equals_network_units_parameterisation():
    cm = tiny_cm(torch.float64)
    ref = NetworkDiffusionPrior(cm.net, parameterization=ConsistencyParameterization(0.002), image_shape=(1, 8, 8))
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64) * 2 - 0.5
    for s in (0.0011, 0.05, 1.0, 40.0):
        assert torch.allclose(cm.x0(x, s), ref.x0(x, s), atol=1e-12, rtol=0)
    # c_skip -> 0 and c_out -> σ_d at large σ: f is then the network output, not the input
    cs, co = consistency_coefficients(torch.tensor(80.0 - 0.002), torch.tensor(80.0), 0.5)
    assert float(cs) < 1e-4 and abs(float(co) - 0.5) < 1e-4


def test_generate_is_deterministic_in_its_latent_and_counts_calls():
    cm = tiny_cm(steps=2)
    assert cm.latent_shape == (2, 8, 8) and cm.capabilities >= {"generate", "x0", "denoise", "sample"}
    assert "score" not in cm.capabilities                               # f is not Tweedie's mean
    z = cm.sample_latent(3, torch.Generator().manual_seed(2))
    cm.nfe = 0
    x1, x2 = cm.generate(z), cm.generate(z)
    assert torch.equal(x1, x2) and cm.nfe == 4
    # by hand: x = f(σ0 z0, σ0); x = f(x + sqrt(σ1² - σmin²) z1, σ1)
    s0, s1 = cm.step_sigmas
    h = cm.x0(s0 * z[:, :1], s0)
    h = cm.x0(h + (s1 ** 2 - cm.sigma_min ** 2) ** 0.5 * z[:, 1:], s1)
    assert torch.equal(h, x1)
    # the re-noising draw is part of the latent: changing it changes the output
    z2 = z.clone()
    z2[:, 1:] += 1
    assert (cm.generate(z2) - x1).abs().max() > 1e-4
    one = cm.with_steps(1)
    assert one.latent_shape == (1, 8, 8) and one.net is cm.net and cm.steps == 2
    assert torch.equal(one.generate(z[:, :1]), cm.x0(s0 * z[:, :1], s0))
    with pytest.raises(ValueError, match="z must have shape"):
        cm.generate(z[:, :1])
    with pytest.raises(ValueError, match="step_sigmas"):
        cm.with_steps(2, [1.0, 2.0])
    # default levels: σ_max first, the Karras ρ=7 grid down to 0.8 (network units)
    assert default_step_sigmas(1) == [80.0]
    assert default_step_sigmas(2) == [80.0, pytest.approx(0.8)]
    s3 = default_step_sigmas(3)
    assert s3[1] == pytest.approx(((80 ** (1 / 7) + 0.8 ** (1 / 7)) / 2) ** 7)
    assert [2 * s for s in cm.step_sigmas] == pytest.approx([80.0, 0.8])


def test_checkpoint_round_trip(tmp_path):
    cm = tiny_cm()
    save_checkpoint(tmp_path / "cm", cm.net, {"kind": "consistency", "name": "cm-test",
                                              "architecture": {"class": "UNet", "config": cm.net.config},
                                              "sigma_data": 0.5, "image_shape": [1, 8, 8], "sigma_min": 0.002,
                                              "sigma_max": 80.0})
    back = gp.priors.load(str(tmp_path / "cm"))
    assert isinstance(back, ConsistencyPrior) and back.name == "cm-test" and back.steps == 1
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(back.x0(x, 0.7), cm.x0(x, 0.7))
    two = gp.priors.load(str(tmp_path / "cm"), steps=2)
    assert two.latent_shape == (2, 8, 8)
    with pytest.raises(TypeError, match="takes no options"):
        gp.priors.registry.load_checkpoint_prior(gp.priors.registry.CHECKPOINT_DIR / "diffusion-fashion28", steps=2)


def test_solvers_accept_a_consistency_prior():
    """csgm (generate), dps / dds (x0) and pnp (denoise) run with it and return finite images."""
    cm = tiny_cm(steps=2)
    pb = gp.tasks.make("inpaint_random", image_shape=(1, 8, 8), sigma_y=0.05)
    g = torch.Generator().manual_seed(3)
    y = pb.measure(torch.rand(2, 1, 8, 8, generator=g), generator=g)
    for method, opts in (("csgm", dict(max_iter=3)), ("dps", dict(steps=4)), ("dds", dict(steps=4)),
                         ("dmplug", dict(max_iter=3))):
        res = gp.solve(pb, y, method, cm, generator=torch.Generator().manual_seed(0), **opts)
        assert res.x.shape == (2, 1, 8, 8) and bool(torch.isfinite(res.x).all()), method
        assert res.nfe > 0
