import math

import torch

import genprior as gp
from genprior.training import flow as tf
from genprior.training.flow import FlowTrainConfig, train_flow

from ._common import read_log, tiny_source


def test_training_lowers_bpd_and_resumes(tmp_path, monkeypatch):
    src = tiny_source(monkeypatch, tf, size=8)
    out = tmp_path / "f"
    kw = dict(data="x", out=str(out), batch_size=16, levels=2, steps_per_level=2, hidden=8, lr=5e-3, warmup=1,
              save_every=10, sample_every=20)
    train_flow(FlowTrainConfig(steps=20, **kw), progress=False)
    train_flow(FlowTrainConfig(steps=40, **kw), progress=False, log=lambda *_: None)
    log = read_log(out)
    assert [r["step"] for r in log] == list(range(1, 41))
    assert sum(r["bpd"] for r in log[-5:]) / 5 < sum(r["bpd"] for r in log[:5]) / 5 - 0.2
    p = gp.priors.load(str(out))
    assert p.image_shape == (1, 8, 8) and p.config["training"]["steps_done"] == 40
    # the logged bpd is the prior's bits/dim of dequantized data: same number on the same batch
    x = src.data[:16]
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    b = p.bits_per_dim(x, generator=g1)
    xd = tf.dequantize(x, g2)
    assert torch.allclose(b, (-p.log_prob(xd) + 64 * math.log(256)) / (64 * math.log(2)), atol=1e-4)
    assert abs(b.mean().item() - log[-1]["bpd"]) < 1.0
