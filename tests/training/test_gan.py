import torch

import genprior as gp
from genprior.training import gan as tg
from genprior.training.gan import GANTrainConfig, train_gan

from ._common import read_log, tiny_source


def test_resume_continues_and_checkpoint_loads(tmp_path, monkeypatch):
    tiny_source(monkeypatch, tg)
    out = tmp_path / "g"
    kw = dict(data="x", out=str(out), batch_size=8, latent_dim=4, width=4, save_every=2, sample_every=3)
    train_gan(GANTrainConfig(steps=3, **kw), progress=False)
    train_gan(GANTrainConfig(steps=5, **kw), progress=False, log=lambda *_: None)
    log = read_log(out)
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5]
    p = gp.priors.load(str(out))
    assert p.config["training"]["steps_done"] == 5 and p.latent_shape == (4,)
    assert p.generate(torch.randn(2, 4)).shape == (2, 1, 28, 28)
    assert (out / "samples_0000003.png").exists()


def test_resume_is_exact(tmp_path, monkeypatch):
    tiny_source(monkeypatch, tg)
    kw = dict(data="x", batch_size=8, latent_dim=4, width=4, save_every=2, sample_every=0)
    train_gan(GANTrainConfig(out=str(tmp_path / "a"), steps=4, **kw), progress=False)
    train_gan(GANTrainConfig(out=str(tmp_path / "b"), steps=2, **kw), progress=False)
    train_gan(GANTrainConfig(out=str(tmp_path / "b"), steps=4, **kw), progress=False, log=lambda *_: None)
    a, b = gp.priors.load(str(tmp_path / "a")), gp.priors.load(str(tmp_path / "b"))
    z = torch.randn(3, 4)
    assert torch.allclose(a.generate(z), b.generate(z), atol=1e-6)


def test_discriminator_learns(tmp_path, monkeypatch):
    tiny_source(monkeypatch, tg)
    out = tmp_path / "g"
    train_gan(GANTrainConfig(data="x", out=str(out), steps=20, batch_size=16, latent_dim=4, width=4,
                             lr=1e-3, sample_every=0, save_every=20), progress=False)
    log = read_log(out)
    # D starts at chance (softplus(0) * 2 = 1.386) and separates real from fake within a few steps
    assert abs(log[0]["loss_d"] - 1.386) < 0.1
    assert min(r["loss_d"] for r in log[-5:]) < log[0]["loss_d"] - 0.1
