"""Train the Fashion-MNIST classifier whose penultimate features define the project's FID, resumably.

Cross-entropy on the train split (random minibatches from one seeded generator, random horizontal
flips), Adam with a cosine learning-rate decay lr_k = lr (1 + cos(pi k / steps)) / 2 and weight
decay; BatchNorm statistics from the training batches. Every checkpoint records the accuracy on the
whole test split (``test_accuracy``). ``genprior train classifier --data fashion28 --out DIR``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..nets.checkpoint import save_checkpoint
from ..nets.classifier import ImageClassifier
from .common import device, run_loop, training_dict

DATASETS = ("fashion28",)


@dataclass
class ClassifierTrainConfig:
    data: str
    out: str
    steps: int = 2000
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    width: int = 32
    feature_dim: int = 128
    flip: bool = True
    seed: int = 0
    save_every: int = 500
    sample_every: int = 0          # unused (no sample grid); kept for the shared loop
    name: str = ""

    def __post_init__(self):
        if self.data not in DATASETS:
            raise ValueError(f"the classifier trains on labelled data: {', '.join(DATASETS)}; got {self.data!r}")
        for k in ("steps", "batch_size", "width", "feature_dim", "save_every"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(f"need lr > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}")


def load_labelled(data: str, split: str):
    """(images (N, 1, 28, 28) in [0, 1], labels (N,)) of a labelled dataset."""
    from .. import data as gdata
    if data == "fashion28":
        return gdata.fashion_mnist(split, return_labels=True)
    raise ValueError(f"unknown labelled data {data!r}; known: {', '.join(DATASETS)}")


@torch.no_grad()
def accuracy(net: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    """Fraction of correctly classified images (eval mode)."""
    was = net.training
    net.eval()
    p = next(net.parameters())
    hits = 0
    for i in range(0, x.shape[0], batch):
        logits = net(x[i:i + batch].to(device=p.device, dtype=p.dtype))
        hits += int((logits.argmax(1).cpu() == labels[i:i + batch]).sum())
    net.train(was)
    return hits / x.shape[0]


def train_classifier(cfg: ClassifierTrainConfig, *, progress: bool = True, log=print) -> Path:
    dev = device()
    x_train, y_train = load_labelled(cfg.data, "train")
    x_test, y_test = load_labelled(cfg.data, "test")
    c, h, _ = x_train.shape[1:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = ImageClassifier(c, h, cfg.width, cfg.feature_dim, int(y_train.max()) + 1).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 5)

    def step_fn(step):
        net.train()
        for group in opt.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        idx = torch.randint(0, x_train.shape[0], (cfg.batch_size,), generator=gen)
        x, y = x_train[idx], y_train[idx]
        if cfg.flip:
            f = torch.rand(cfg.batch_size, generator=gen) < 0.5
            x = torch.where(f[:, None, None, None], x.flip(-1), x)
        logits = net(x.to(dev))
        loss = F.cross_entropy(logits, y.to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "batch_accuracy": (logits.argmax(1).cpu() == y).float().mean().item()}

    def checkpoint_fn(step, wall):
        acc = accuracy(net, x_test, y_test)
        log(f"step {step}: test accuracy {acc:.4f}")
        save_checkpoint(cfg.out, net, {
            "kind": "classifier", "name": cfg.name or Path(cfg.out).name,
            "architecture": {"class": "ImageClassifier", "config": net.config},
            "image_shape": list(x_train.shape[1:]), "data_range": [0.0, 1.0], "dataset": cfg.data,
            "feature_dim": cfg.feature_dim, "test_accuracy": round(acc, 4),
            "features": "penultimate linear layer, pre-ReLU", "training": training_dict(cfg, step, wall)})
        net.train()

    return run_loop(cfg, modules={"net": net}, optimizers={"opt": opt}, gen=gen, step_fn=step_fn,
                    checkpoint_fn=checkpoint_fn, sample_fn=None, progress=progress, log=log,
                    desc=f"classifier {cfg.name or cfg.data}")
