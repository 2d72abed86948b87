"""The FID classifier's trainer: learns a separable toy task, resumes exactly, writes a checkpoint that
gp.metrics.fid_extractor loads; the CLI reaches it."""
import pytest
import torch

import genprior as gp
from genprior.training import classifier as tc
from genprior.training.classifier import ClassifierTrainConfig, train_classifier

from ._common import read_log


def _toy(n, seed):
    """Bright top half (class 0) vs bright bottom half (class 1), plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    x = 0.2 * torch.rand(n, 1, 28, 28, generator=g)
    x[labels == 0, :, :14] += 0.7
    x[labels == 1, :, 14:] += 0.7
    return x, labels


def test_training_learns_resumes_and_loads(tmp_path, monkeypatch):
    monkeypatch.setattr(tc, "load_labelled", lambda data, split: _toy(256 if split == "train" else 64,
                                                                      0 if split == "train" else 1))
    out = tmp_path / "c"
    kw = dict(data="fashion28", out=str(out), batch_size=16, width=4, feature_dim=8, lr=3e-3, save_every=10)
    train_classifier(ClassifierTrainConfig(steps=20, **kw), progress=False, log=lambda *_: None)
    train_classifier(ClassifierTrainConfig(steps=30, **kw), progress=False, log=lambda *_: None)
    log = read_log(out)
    assert [r["step"] for r in log] == list(range(1, 31))
    net = gp.metrics.fid_extractor(out)
    assert net.config["feature_dim"] == 8
    cfg = __import__("json").loads((out / "config.json").read_text())
    assert cfg["kind"] == "classifier" and cfg["training"]["steps_done"] == 30
    assert cfg["test_accuracy"] > 0.9                     # the toy classes are linearly separable
    x, labels = _toy(64, 1)
    assert tc.accuracy(net, x, labels) == pytest.approx(cfg["test_accuracy"], abs=1e-4)


def test_config_rejects_unlabelled_data():
    with pytest.raises(ValueError, match="labelled"):
        ClassifierTrainConfig(data="phantoms64", out="x")
    with pytest.raises(ValueError, match="width"):
        ClassifierTrainConfig(data="fashion28", out="x", width=0)


def test_cli_trains_the_classifier(tmp_path, monkeypatch):
    from genprior.cli import main
    monkeypatch.setattr(tc, "load_labelled", lambda data, split: _toy(64, 0))
    out = tmp_path / "cli"
    assert main(["train", "classifier", "--data", "fashion28", "--out", str(out), "--steps", "3", "--width", "4",
                 "--batch-size", "8", "--save-every", "3", "--no-progress"]) == 0
    assert gp.metrics.fid_extractor(out).config["width"] == 4
