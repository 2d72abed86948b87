import torch

import genprior as gp
from genprior.nets.ebm import EnergyNet
from genprior.training import ebm as te
from genprior.training.ebm import EBMTrainConfig, dsm_loss, train_ebm

from ._common import read_log, tiny_source


def test_dsm_loss_of_the_zero_energy_is_one():
    # E = 0 -> loss = E ||eps||² / D = 1 (the target every model must beat)
    net = EnergyNet(1, 4, 0.1)
    with torch.no_grad():
        net.out.weight.zero_()
    x = torch.rand(64, 1, 8, 8)
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    assert abs(dsm_loss(net, x, eps, 0.1).item() - eps.pow(2).mean().item()) < 1e-6


def test_training_lowers_the_loss_and_resumes(tmp_path, monkeypatch):
    tiny_source(monkeypatch, te, size=12)
    out = tmp_path / "e"
    kw = dict(data="x", out=str(out), batch_size=16, width=8, lr=3e-3, warmup=1, save_every=10, sample_every=0)
    train_ebm(EBMTrainConfig(steps=20, **kw), progress=False)
    train_ebm(EBMTrainConfig(steps=40, **kw), progress=False, log=lambda *_: None)
    log = read_log(out)
    assert [r["step"] for r in log] == list(range(1, 41))
    assert sum(r["loss"] for r in log[-5:]) / 5 < 0.9   # < 1: beats the zero-energy baseline
    p = gp.priors.load(str(out))
    assert p.config["training"]["steps_done"] == 40
    assert p.grad(torch.rand(2, 1, 12, 12)).shape == (2, 1, 12, 12)
