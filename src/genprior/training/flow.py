"""Train the multi-scale flow prior by maximum likelihood on dequantized data, resumably.

Loss: bits/dim = (-log p(x_deq) + D ln 256) / (D ln 2) with x_deq = (round(255 x) + u) / 256,
u ~ U[0, 1) (uniform dequantization, Theis et al. 2016), log p from :class:`FlowPrior` (logit
preprocessing with alpha = 0.05 included). ActNorm is initialised from the first batch (Glow);
Adam with a linear warm-up and gradient clipping; EMA weights saved.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch

from ..nets.checkpoint import save_checkpoint
from ..nets.flow import MultiScaleFlow
from ..priors.flow import FlowPrior
from ..priors.vae import dequantize
from .common import TrainConfig, device, ema_update, run_loop, training_dict, optimizer_step
from .data import make_source


@dataclass
class FlowTrainConfig(TrainConfig):
    warmup: int = 200
    levels: int = 2
    steps_per_level: int = 6
    hidden: int = 64
    alpha: float = 0.05
    grad_clip: float = 50.0
    temperature: float = 0.8

    def __post_init__(self):
        for k in ("steps", "batch_size", "levels", "steps_per_level", "hidden", "save_every"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")
        if self.lr <= 0 or not 0 <= self.alpha < 0.5:
            raise ValueError("lr must be > 0 and alpha in [0, 0.5)")


def train_flow(cfg: FlowTrainConfig, *, progress: bool = True, log=print) -> Path:
    dev = device()
    source = make_source(cfg.data)
    c, h, w = source.image_shape
    if h != w:
        raise ValueError(f"the flow needs square images, got {source.image_shape}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = MultiScaleFlow(c, h, cfg.levels, cfg.steps_per_level, cfg.hidden).to(dev)
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 3)
    train_prior = FlowPrior(net, alpha=cfg.alpha)
    ema_prior = FlowPrior(ema, alpha=cfg.alpha)

    def init_fn():
        x = dequantize(source(max(256, cfg.batch_size), gen), gen).to(dev)
        net.initialize(train_prior._pre(x)[0])
        ema.load_state_dict(net.state_dict())

    def step_fn(step):
        net.train()
        x = dequantize(source(cfg.batch_size, gen), gen).to(dev)
        d = x[0].numel()
        loss = ((-train_prior.log_prob(x) + d * 5.545177444479562) / (d * 0.6931471805599453)).mean()
        gn = optimizer_step(opt, net, loss, cfg, step)
        ema_update(ema, net, cfg.ema_decay, step)
        return {"bpd": loss.item(), "grad_norm": gn}

    def checkpoint_fn(step, wall):
        save_checkpoint(cfg.out, ema, {
            "kind": "flow", "name": cfg.name or Path(cfg.out).name,
            "architecture": {"class": "MultiScaleFlow", "config": ema.config}, "alpha": cfg.alpha,
            "image_shape": list(source.image_shape), "data_range": [0.0, 1.0],
            "latent_shape": list(source.image_shape), "dataset": source.name,
            "objective": "maximum likelihood, uniform dequantization", "training": training_dict(cfg, step, wall)})

    zs = torch.randn(64, *source.image_shape, generator=torch.Generator().manual_seed(1234)) * cfg.temperature

    def sample_fn():
        return ema_prior.generate(zs.to(dev))

    return run_loop(cfg, modules={"net": net, "ema": ema}, optimizers={"opt": opt}, gen=gen, step_fn=step_fn,
                    checkpoint_fn=checkpoint_fn, sample_fn=sample_fn, init_fn=init_fn, progress=progress, log=log,
                    desc=f"flow {cfg.name or cfg.data}")
