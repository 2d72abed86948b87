"""diffusers UNet2DModel folders and hub ids as genprior priors."""
import time

import pytest
import torch

import genprior as gp

D = torch.float64


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
        gp.priors.load("hf:google/ddpm-cifar10-32")
    assert time.perf_counter() - t < 10


def test_a_name_is_a_hub_id_only_with_the_hf_prefix(monkeypatch, tmp_path):
    """A mistyped local path is reported as a missing folder, never sent to the hub loader."""
    import genprior.priors.diffusers_adapter as da

    def no_hub(*a, **k):
        raise AssertionError("the hub loader must not be reached")
    monkeypatch.setattr(da, "load_diffusers", no_hub)
    for bad in ("runs/p64", "google/ddpm-cifar10-32", str(tmp_path / "missing"), "./p64"):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            gp.priors.load(bad)
    with pytest.raises(ValueError, match="hf:org/name"):
        gp.priors.load("hf:justaname")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="is a file"):
        gp.priors.load(tmp_path / "f.txt")
