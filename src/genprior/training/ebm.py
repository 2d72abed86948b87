"""Train an energy-based prior by denoising score matching (Vincent 2011), resumably.

With s_theta = -grad_x E_theta and x~ = x + sigma eps:  L = E ||sigma grad_x E(x~) - eps||² / D,
the DSM objective scaled by sigma², computed with double backpropagation (create_graph). Chosen over
contrastive divergence with Langevin chains (Du & Mordatch 2019; Nijkamp et al. 2020 need ~10^7-10^8
network gradients on MNIST): one forward and two backward passes per step fit 2 CPU cores. The
learned E is the energy of the sigma-smoothed data density. Adam; EMA weights saved.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch

from ..nets.checkpoint import save_checkpoint
from ..nets.ebm import EnergyNet
from .common import TrainConfig, device, ema_update, run_loop, training_dict, optimizer_step
from .data import make_source


@dataclass
class EBMTrainConfig(TrainConfig):
    lr: float = 5e-4
    sigma: float = 0.1
    width: int = 32
    warmup: int = 200
    grad_clip: float = 10.0

    def __post_init__(self):
        for k in ("steps", "batch_size", "width", "save_every"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")
        if self.lr <= 0 or self.sigma <= 0:
            raise ValueError("lr and sigma must be > 0")


def dsm_loss(net, x, eps, sigma):
    """E ||sigma grad E(x + sigma eps) - eps||² / D (per-pixel mean)."""
    xt = (x + sigma * eps).requires_grad_(True)
    (g,) = torch.autograd.grad(net(xt).sum(), xt, create_graph=True)
    return (sigma * g - eps).pow(2).mean()


def train_ebm(cfg: EBMTrainConfig, *, progress: bool = True, log=print) -> Path:
    dev = device()
    source = make_source(cfg.data)
    c = source.image_shape[0]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = EnergyNet(c, cfg.width, cfg.sigma).to(dev)
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 4)

    def step_fn(step):
        net.train()
        x = source(cfg.batch_size, gen).to(dev)
        eps = torch.randn(x.shape, generator=gen).to(dev)
        loss = dsm_loss(net, x, eps, cfg.sigma)
        gn = optimizer_step(opt, net, loss, cfg, step)
        ema_update(ema, net, cfg.ema_decay, step)
        return {"loss": loss.item(), "grad_norm": gn}

    def checkpoint_fn(step, wall):
        save_checkpoint(cfg.out, ema, {
            "kind": "ebm", "name": cfg.name or Path(cfg.out).name,
            "architecture": {"class": "EnergyNet", "config": ema.config}, "sigma": cfg.sigma,
            "image_shape": list(source.image_shape), "data_range": [0.0, 1.0], "dataset": source.name,
            "objective": "denoising score matching, s = -grad E", "training": training_dict(cfg, step, wall)})

    x_show = source(16, torch.Generator().manual_seed(1234))
    e_show = torch.randn(x_show.shape, generator=torch.Generator().manual_seed(1235))

    def sample_fn():
        # no cheap sampler for an EBM: show clean | noisy | one Tweedie step x~ - sigma² grad E(x~)
        xt = (x_show + cfg.sigma * e_show).to(dev)
        with torch.enable_grad():
            xr = xt.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(ema(xr).sum(), xr)
        return torch.cat([x_show.to(dev), xt, xt - cfg.sigma ** 2 * g]), 16

    return run_loop(cfg, modules={"net": net, "ema": ema}, optimizers={"opt": opt}, gen=gen, step_fn=step_fn,
                    checkpoint_fn=checkpoint_fn, sample_fn=sample_fn, progress=progress, log=log,
                    desc=f"ebm {cfg.name or cfg.data}")
