"""Train a DCGAN prior with the non-saturating loss and an R1 penalty, resumably.

Losses (Goodfellow et al. 2014, non-saturating; Mescheder et al. 2018, R1), data on [-1, 1]:
L_D = E softplus(D(G(z))) + E softplus(-D(x)) + gamma/2 E ||grad_x D(x)||²,  L_G = E softplus(-D(G(z))).
Adam(lr, betas=(0.5, 0.999)) for both; an EMA of the generator (with its BatchNorm statistics
copied) is what the checkpoint holds.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..nets.checkpoint import save_checkpoint
from ..nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ..priors.gan import GANPrior
from .common import TrainConfig, device, ema_update, run_loop, training_dict
from .data import make_source


@dataclass
class GANTrainConfig(TrainConfig):
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    latent_dim: int = 64
    width: int = 32
    r1_gamma: float = 1.0

    def __post_init__(self):
        for k in ("steps", "batch_size", "latent_dim", "width", "save_every"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")
        if self.lr <= 0 or self.r1_gamma < 0:
            raise ValueError("lr must be > 0 and r1_gamma >= 0")


def train_gan(cfg: GANTrainConfig, *, progress: bool = True, log=print) -> Path:
    dev = device()
    source = make_source(cfg.data)
    c, h, w = source.image_shape
    if h != w:
        raise ValueError(f"the DCGAN needs square images, got {source.image_shape}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        G = DCGANGenerator(cfg.latent_dim, c, h, cfg.width).to(dev)
        D = DCGANDiscriminator(c, h, cfg.width).to(dev)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 1)
    B = cfg.batch_size

    def step_fn(step):
        G.train()
        x = (source(B, gen) * 2 - 1).to(dev).requires_grad_(True)
        z = torch.randn(B, cfg.latent_dim, generator=gen).to(dev)
        # discriminator
        with torch.no_grad():
            fake = G(z)
        d_real = D(x)
        d_fake = D(fake)
        loss_d = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
        r1 = torch.zeros((), device=dev)
        if cfg.r1_gamma > 0:
            (g,) = torch.autograd.grad(d_real.sum(), x, create_graph=True)
            r1 = g.flatten(1).pow(2).sum(1).mean()
        opt_d.zero_grad(set_to_none=True)
        (loss_d + 0.5 * cfg.r1_gamma * r1).backward()
        opt_d.step()
        # generator
        z = torch.randn(B, cfg.latent_dim, generator=gen).to(dev)
        loss_g = F.softplus(-D(G(z))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        ema_update(G_ema, G, cfg.ema_decay, step)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "r1": r1.item(),
                "d_real": d_real.mean().item(), "d_fake": d_fake.mean().item()}

    def checkpoint_fn(step, wall):
        save_checkpoint(cfg.out, G_ema, {
            "kind": "gan", "name": cfg.name or Path(cfg.out).name,
            "architecture": {"class": "DCGANGenerator", "config": G_ema.config},
            "image_shape": list(source.image_shape), "data_range": [0.0, 1.0], "network_range": [-1.0, 1.0],
            "latent_shape": [cfg.latent_dim], "dataset": source.name,
            "objective": "non-saturating GAN + R1", "training": training_dict(cfg, step, wall)})

    zs = torch.randn(64, cfg.latent_dim, generator=torch.Generator().manual_seed(1234))

    def sample_fn():
        return GANPrior(G_ema).generate(zs.to(dev))

    return run_loop(cfg, modules={"G": G, "D": D, "G_ema": G_ema}, optimizers={"G": opt_g, "D": opt_d}, gen=gen,
                    step_fn=step_fn, checkpoint_fn=checkpoint_fn, sample_fn=sample_fn, progress=progress, log=log,
                    desc=f"gan {cfg.name or cfg.data}")
