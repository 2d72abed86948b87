import torch

import genprior as gp
from genprior.training import vae as tv
from genprior.training.vae import VAETrainConfig, train_vae

from ._common import read_log, tiny_source


def test_training_lowers_the_loss_and_resumes(tmp_path, monkeypatch):
    tiny_source(monkeypatch, tv)
    out = tmp_path / "v"
    kw = dict(data="x", out=str(out), batch_size=16, latent_dim=4, width=4, lr=3e-3, kl_warmup=1, save_every=10,
              sample_every=0)
    train_vae(VAETrainConfig(steps=20, **kw), progress=False)
    train_vae(VAETrainConfig(steps=30, **kw), progress=False, log=lambda *_: None)
    log = read_log(out)
    assert [r["step"] for r in log] == list(range(1, 31))
    first = sum(r["loss"] for r in log[:3]) / 3
    last = sum(r["loss"] for r in log[-3:]) / 3
    assert last < first - 0.1
    p = gp.priors.load(str(out))
    assert p.config["training"]["steps_done"] == 30
    x = torch.rand(2, 1, 28, 28)
    assert p.encode(x).shape == (2, 4) and torch.isfinite(p.elbo(x)).all()
