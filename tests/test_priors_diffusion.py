"""Diffusion priors: schedules, samplers, the exact Gaussian mixture, checkpoints, diffusers loading."""
import json
import os
import time

import pytest
import torch

import genprior as gp
from genprior.nets.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from genprior.nets.unet import UNet
from genprior.priors.diffusion import NetworkDiffusionPrior
from genprior.schedules import SAMPLERS, edm_sigmas, vp_sigmas

D = torch.float64


def gmm2d():
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0], [0.0, -3.0]], dtype=D)
    return gp.priors.GaussianMixture(means, torch.tensor([0.5, 0.3, 0.2], dtype=D),
                                     torch.stack([torch.eye(2, dtype=D) * 0.3, torch.tensor([[0.5, 0.2], [0.2, 0.2]], dtype=D),
                                                  torch.eye(2, dtype=D) * 0.1]))


@pytest.mark.parametrize("sigma", [0.01, 0.3, 2.0])
def test_gmm_score_is_autograd_of_log_density(sigma, gen):
    for prior in (gmm2d(), gp.priors.GaussianMixture(torch.randn(4, 1, 3, 3, generator=gen, dtype=D), None,
                                                      torch.rand(4, generator=gen, dtype=D) + 0.1)):
        x = (torch.randn(6, *prior.event_shape, generator=gen, dtype=D) * 2).requires_grad_(True)
        (g,) = torch.autograd.grad(prior.log_prob(x, sigma).sum(), x)
        assert torch.allclose(prior.score(x.detach(), sigma), g, atol=1e-9)


def test_gmm_log_prob_integrates_to_one():
    prior = gmm2d()
    t = torch.linspace(-8, 8, 401, dtype=D)
    X, Y = torch.meshgrid(t, t, indexing="ij")
    p = prior.log_prob(torch.stack([X.reshape(-1), Y.reshape(-1)], 1), 0.2).exp().sum() * (t[1] - t[0]) ** 2
    assert abs(float(p) - 1) < 1e-4


def test_gmm_posterior_matches_bayes_on_a_grid():
    prior = gmm2d()
    A = torch.tensor([[1.0, 0.5]], dtype=D)
    y = torch.tensor([[0.7]], dtype=D)
    post = prior.posterior(A, y, 0.4)
    t = torch.linspace(-8, 8, 321, dtype=D)
    X, Y = torch.meshgrid(t, t, indexing="ij")
    pts = torch.stack([X.reshape(-1), Y.reshape(-1)], 1)
    logp = prior.log_prob(pts) - 0.5 * ((pts @ A.T - y) ** 2).sum(1) / 0.4 ** 2
    w = torch.softmax(logp, 0)
    assert torch.allclose((w[:, None] * pts).sum(0), post.mean(), atol=1e-4)
    assert torch.allclose(post.log_prob(pts).exp() * (t[1] - t[0]) ** 2, w, atol=1e-5)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_samplers_match_the_gmm_marginal(name):
    prior = gmm2d()
    n = 3000
    g = torch.Generator().manual_seed(0)
    sig = edm_sigmas(100, 1e-3, 30.0)
    x = SAMPLERS[name](prior, torch.randn(n, 2, generator=g, dtype=D) * sig[0], sig, generator=g)
    ref = prior.sample_exact(n, generator=g)
    sw = float(gp.metrics.sliced_wasserstein(x, ref, 100, generator=torch.Generator().manual_seed(1)))
    floor = float(gp.metrics.sliced_wasserstein(prior.sample_exact(n, generator=g), ref, 100,
                                                 generator=torch.Generator().manual_seed(1)))
    assert sw < 3 * floor + 0.03, f"{name}: SW {sw:.3f} vs floor {floor:.3f}"
    assert torch.allclose(x.mean(0), prior.mean(), atol=0.08)
    # the mixture weights are recovered (which component each sample is closest to)
    frac = torch.bincount(prior.responsibilities(x).argmax(1), minlength=3).double() / n
    frac_ref = torch.bincount(prior.responsibilities(ref).argmax(1), minlength=3).double() / n
    assert torch.allclose(frac, frac_ref, atol=0.03)


def test_ancestral_sampling_matches_diffused_marginal_midway():
    """DDPM from sigma_max down to sigma=0.8 gives the diffused marginal p_0.8 (moment check)."""
    prior = gmm2d()
    n = 4000
    g = torch.Generator().manual_seed(2)
    sig = torch.cat([edm_sigmas(60, 0.8, 30.0)[:-1], torch.tensor([0.8], dtype=D)])
    sig = torch.unique_consecutive(sig)
    x = torch.randn(n, 2, generator=g, dtype=D) * sig[0]
    from genprior.schedules.samplers import ddim_step
    for i in range(len(sig) - 1):
        x = ddim_step(x, prior.x0(x, sig[i]), sig[i], sig[i + 1], 1.0, g)
    ref = prior.sample_exact(n, generator=g, sigma=0.8)
    assert torch.allclose(x.mean(0), ref.mean(0), atol=0.1)
    assert torch.allclose(torch.cov(x.T), torch.cov(ref.T), atol=0.25)


def test_schedules():
    s = edm_sigmas(10, 0.002, 80.0)
    assert s.shape == (11,) and float(s[0]) == pytest.approx(80.0) and float(s[-2]) == pytest.approx(0.002)
    assert float(s[-1]) == 0 and bool((s[:-1] > s[1:]).all())
    v = vp_sigmas(20)
    ab = gp.schedules.sigma_to_alpha_bar(v[:-1])
    assert bool((ab[1:] > ab[:-1]).all())
    # the continuous VP (beta 0.1..20) approximates DDPM's discrete linear betas 1e-4..0.02
    discrete = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000, dtype=D), 0)
    cont = gp.schedules.vp_alpha_bar(torch.arange(1, 1001, dtype=D) / 1000)
    assert float((cont.log() - discrete.log()).abs().max()) < 0.1
    with pytest.raises(KeyError, match="unknown schedule"):
        gp.schedules.make_sigmas("nope", 3)


def _tiny_prior(shape=(1, 16, 16)):
    torch.manual_seed(0)
    net = UNet(in_channels=shape[0], channels=(8, 16), attn_levels=(1,))
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return NetworkDiffusionPrior(net, image_shape=shape)


def test_checkpoint_round_trip_exact(tmp_path):
    pr = _tiny_prior()
    cfg = {"kind": "diffusion", "architecture": {"class": "UNet", "config": pr.net.config}, "parameterization": "edm",
           "sigma_data": 0.5, "image_shape": [1, 16, 16], "data_range": [0.0, 1.0], "network_range": [-1.0, 1.0]}
    save_checkpoint(tmp_path / "ck", pr.net, cfg)
    loaded = gp.priors.load(str(tmp_path / "ck"))
    x = torch.rand(2, 1, 16, 16)
    assert torch.equal(loaded.x0(x, 0.3), pr.x0(x, 0.3))
    for k, v in pr.net.state_dict().items():
        assert torch.equal(v, loaded.net.state_dict()[k])
    # no pickles: the folder holds safetensors + JSON only
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["config.json", "model.safetensors"]


def test_bad_checkpoints_fail_clearly(tmp_path):
    from safetensors.torch import save_file
    pr = _tiny_prior()
    cfg = {"kind": "diffusion", "architecture": {"class": "UNet", "config": pr.net.config}, "parameterization": "edm",
           "sigma_data": 0.5, "image_shape": [1, 16, 16]}
    save_checkpoint(tmp_path / "a", pr.net, cfg)
    sd = pr.net.state_dict()
    missing = {k: v for i, (k, v) in enumerate(sd.items()) if i > 0}
    save_file({k: v.contiguous() for k, v in missing.items()}, str(tmp_path / "a" / "model.safetensors"))
    with pytest.raises(CheckpointError, match="missing keys"):
        gp.priors.load(str(tmp_path / "a"))
    save_checkpoint(tmp_path / "b", pr.net, cfg)
    cfg_b = json.loads((tmp_path / "b" / "config.json").read_text())
    cfg_b["architecture"]["config"]["channels"] = [8, 32]
    (tmp_path / "b" / "config.json").write_text(json.dumps(cfg_b))
    with pytest.raises(CheckpointError, match="shape mismatch|unexpected|missing"):
        load_checkpoint(tmp_path / "b")
    save_checkpoint(tmp_path / "c", pr.net, cfg)
    cfg_c = json.loads((tmp_path / "c" / "config.json").read_text())
    del cfg_c["sigma_data"]
    (tmp_path / "c" / "config.json").write_text(json.dumps(cfg_c))
    with pytest.raises(CheckpointError, match="sigma_data"):
        gp.priors.load(str(tmp_path / "c"))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(tmp_path / "d")
    with pytest.raises(KeyError, match="unknown prior 'nope'.*gmm|unknown prior 'nope'"):
        gp.priors.load("nope")


def test_diffusion_prior_capabilities_are_consistent(gen):
    pr = _tiny_prior()
    x = torch.rand(3, 1, 16, 16, generator=gen)
    s = torch.tensor([0.1, 0.5, 2.0])
    x0 = pr.x0(x, s)
    assert torch.allclose(pr.score(x, s), (x0 - x) / s[:, None, None, None] ** 2, atol=1e-5)
    assert torch.allclose(pr.eps(x, s), (x - x0) / s[:, None, None, None], atol=1e-5)
    assert torch.equal(pr.denoise(x, s), x0)
    with pytest.raises(ValueError, match="shape"):
        pr.x0(torch.rand(1, 1, 8, 8), 0.1)
    with pytest.raises(ValueError, match="sigma"):
        pr.x0(x, -1.0)


def test_diffusers_unet_folder_loads_as_a_prior(tmp_path):
    diffusers = pytest.importorskip("diffusers")
    torch.manual_seed(0)
    unet = diffusers.UNet2DModel(sample_size=8, in_channels=1, out_channels=1, layers_per_block=1,
                                 block_out_channels=(8, 16), norm_num_groups=4,
                                 down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"))
    unet.save_pretrained(tmp_path / "m" / "unet")
    sched = diffusers.DDPMScheduler(num_train_timesteps=1000)
    sched.save_pretrained(tmp_path / "m" / "scheduler")
    prior = gp.priors.load(str(tmp_path / "m"))
    assert prior.image_shape == (1, 8, 8)
    x = torch.rand(2, 1, 8, 8)
    t = 300
    ab = sched.alphas_cumprod[t].double()
    sigma = float(((1 - ab) / ab).sqrt()) / 2          # [0, 1]-scale sigma of timestep 300
    x0 = prior.x0(x, sigma)
    with torch.no_grad():
        eps = unet((2 * x - 1) * ab.sqrt().float(), torch.tensor(float(t))).sample
    ref = ((2 * x - 1) - 2 * sigma * eps + 1) / 2
    assert torch.allclose(x0, ref, atol=1e-4)
    assert abs(float(prior.timestep(torch.tensor([2 * sigma], dtype=D))[0]) - t) < 1e-3
    # usable by every solver: DDS on a small denoising problem
    problem = gp.tasks.make("inpaint_random", (1, 8, 8), sigma_y=0.05)
    res = gp.solve(problem, problem.measure(x[:1]), method="dds", prior=prior, steps=4)
    assert res.x.shape == (1, 1, 8, 8) and res.nfe == 4


def test_hub_id_offline_fails_fast(monkeypatch):
    pytest.importorskip("diffusers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t = time.perf_counter()
    with pytest.raises(FileNotFoundError, match="offline"):
        gp.priors.load("google/ddpm-cifar10-32")
    assert time.perf_counter() - t < 10


def test_gmm_isotropic_fast_path_matches_the_general_path(gen):
    means = torch.randn(5, 1, 4, 4, generator=gen, dtype=D) * 3
    v = torch.rand(5, generator=gen, dtype=D) + 0.2
    fast = gp.priors.GaussianMixture(means, torch.rand(5, generator=gen, dtype=D), v)
    slow = gp.priors.GaussianMixture(means, fast.weights, v[:, None].expand(5, 16) + 0 * torch.arange(16) * 0)
    slow.iso = None                                  # force the eigen-coordinate path
    assert fast.iso is not None
    x = torch.randn(7, 1, 4, 4, generator=gen, dtype=D) * 3
    for s in (0.05, 0.7, 4.0):
        assert torch.allclose(fast.x0(x, s), slow.x0(x, s), atol=1e-10)
        assert torch.allclose(fast.log_prob(x, s), slow.log_prob(x, s), atol=1e-9)
        assert torch.allclose(fast.responsibilities(x, s), slow.responsibilities(x, s), atol=1e-10)
