"""Consistency distillation: the Karras grid and the teacher's Heun step, the CD loss on a fixed batch
goes down, resume is exact, the checkpoint loads as a ConsistencyPrior with f(x, σ_min) = x, CLI."""
import pytest
import torch

import genprior as gp
from genprior.nets.checkpoint import save_checkpoint
from genprior.nets.unet import UNet
from genprior.priors.consistency import ConsistencyParameterization, ConsistencyPrior
from genprior.priors.diffusion import NetworkDiffusionPrior
from genprior.training.consistency import (ConsistencyTrainConfig, distance, heun_step, karras_grid,
                                           train_consistency)

QUIET = dict(progress=False, log=lambda *a: None)


def tiny_teacher(tmp_path):
    g = torch.Generator().manual_seed(0)
    net = UNet(in_channels=1, channels=(8, 16), attn_levels=())
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.05 * torch.randn(p.shape, generator=g))
    save_checkpoint(tmp_path / "teacher", net, {
        "kind": "diffusion", "name": "tiny-teacher", "architecture": {"class": "UNet", "config": net.config},
        "parameterization": "edm", "sigma_data": 0.5, "image_shape": [1, 8, 8], "dataset": "phantoms8"})
    return str(tmp_path / "teacher")


def cfg(teacher, out, steps, **kw):
    return ConsistencyTrainConfig(teacher=teacher, out=str(out), steps=steps, batch_size=4, save_every=3,
                                  sample_every=0, seed=1, warmup=1, bins=6, **kw)


def test_grid_and_heun_step():
    s = karras_grid(5, 0.002, 80.0, 7.0)
    assert float(s[0]) == pytest.approx(0.002) and float(s[-1]) == pytest.approx(80.0)
    assert float(s[2]) == pytest.approx(((0.002 ** (1 / 7) + 80 ** (1 / 7)) / 2) ** 7)
    # a teacher whose denoiser is exactly D(x, σ) = sd² x / (σ² + sd²) (data N(0, sd²)): the ODE
    # x(σ) = x(σ') sqrt(σ² + sd²) / sqrt(σ'² + sd²) is solved by Heun to second order
    net = UNet(in_channels=1, channels=(8, 16))           # zero output layer: F = 0, D = c_skip x
    teacher = NetworkDiffusionPrior(net.double(), image_shape=(1, 16, 16))
    x = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    b4 = lambda t: t[:, None, None, None]

    def err(h):
        s1, s0 = torch.full((2,), 2.0, dtype=torch.float64), torch.full((2,), 2.0 - h, dtype=torch.float64)
        exact = x * b4(torch.sqrt(s0 ** 2 + 0.25) / torch.sqrt(s1 ** 2 + 0.25))
        return float((heun_step(teacher, x, s1, s0) - exact).abs().max())
    # local error O(h³): halving the step divides it by ~8 (Euler's O(h²): by 4)
    assert 7.0 < err(0.2) / err(0.1) < 9.0 and err(0.1) < 2e-5
    a, b = torch.zeros(3, 1, 4, 4), torch.full((3, 1, 4, 4), 0.1)
    c = 0.00054 * 4
    assert torch.allclose(distance(a, b, "pseudo_huber"), torch.full((3,), (0.16 + c * c) ** 0.5 - c))
    assert torch.allclose(distance(a, b, "l2"), torch.full((3,), 0.01))


def _fixed_batch_loss(net, teacher, seed=5):
    """CD loss with target = student on a fixed batch (x, n, z): d(f(x_{n+1}, σ_{n+1}), f(x̂_n, σ_n))."""
    g = torch.Generator().manual_seed(seed)
    x = gp.data.phantoms(16, 8, generator=g) * 2 - 1
    sig = karras_grid(6).float()
    n = torch.randint(0, 5, (16,), generator=g)
    z = torch.randn(x.shape, generator=g)
    x1 = x + sig[n + 1].reshape(-1, 1, 1, 1) * z
    xh = heun_step(teacher, x1, sig[n + 1], sig[n])
    f = NetworkDiffusionPrior(net, parameterization=ConsistencyParameterization(0.002), image_shape=(1, 8, 8))
    with torch.no_grad():
        return float(distance(f.denoise_internal(x1, sig[n + 1]), f.denoise_internal(xh, sig[n]), "l2").mean())


def test_distillation_lowers_the_loss_and_the_checkpoint_loads(tmp_path):
    teacher_dir = tiny_teacher(tmp_path)
    teacher = gp.priors.load(teacher_dir)
    before = _fixed_batch_loss(teacher.net, teacher)
    out = tmp_path / "cm"
    train_consistency(cfg(teacher_dir, out, 60, lr=3e-3, loss="l2"), **QUIET)
    st = torch.load(out / "train_state.pt", weights_only=True)
    net = UNet(**teacher.net.config)
    net.load_state_dict(st["modules"]["net"])
    after = _fixed_batch_loss(net, teacher)
    assert after < 0.7 * before, (before, after)          # measured: 0.54
    cm = gp.priors.load(str(out))
    assert isinstance(cm, ConsistencyPrior) and cm.config["teacher"] == "tiny-teacher"
    assert cm.config["training"]["steps_done"] == 60 and cm.config["kind"] == "consistency"
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(cm.x0(x, cm.sigma_min), x)
    assert (out / "log.jsonl").read_text().count("\n") == 60


def test_resume_is_exact(tmp_path):
    teacher_dir = tiny_teacher(tmp_path)
    train_consistency(cfg(teacher_dir, tmp_path / "a", 6), **QUIET)
    train_consistency(cfg(teacher_dir, tmp_path / "b", 3), **QUIET)
    train_consistency(cfg(teacher_dir, tmp_path / "b", 6), **QUIET)          # resumes at step 3
    sa = torch.load(tmp_path / "a" / "train_state.pt", weights_only=True)["modules"]
    sb = torch.load(tmp_path / "b" / "train_state.pt", weights_only=True)["modules"]
    for mod in ("net", "target", "ema"):
        for k, v in sa[mod].items():
            assert torch.equal(v, sb[mod][k]), (mod, k)
    with pytest.raises(ValueError, match="bins"):
        cfg(teacher_dir, tmp_path / "c", 3, **{}).__class__(teacher=teacher_dir, out="x", bins=1)


def test_cli_train_consistency(tmp_path):
    from genprior.cli import main
    teacher_dir = tiny_teacher(tmp_path)
    out = tmp_path / "cli"
    assert main(["train", "consistency", "--teacher", teacher_dir, "--out", str(out), "--steps", "2",
                 "--batch-size", "2", "--bins", "4", "--sample-every", "2", "--no-progress", "--threads", "1"]) == 0
    cm = gp.priors.load(str(out))
    assert cm.config["training"]["bins"] == 4 and (out / "samples_0000002.png").exists()
    with pytest.raises(SystemExit):
        main(["train", "consistency", "--out", str(out), "--steps", "1"])
    with pytest.raises(SystemExit):
        main(["train", "diffusion", "--out", str(out), "--steps", "1"])              # --data still required
