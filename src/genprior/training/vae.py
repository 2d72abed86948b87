"""Train a convolutional VAE prior (Kingma & Welling 2014), resumably.

Loss: -ELBO(x_deq) / D per pixel with a one-sample reparameterised z = mu + sigma eps, where
x_deq = (round(255 x) + u) / 256 is uniformly dequantized (so the ELBO bounds a density of 8-bit
data), with a KL warm-up beta = min(1, step / kl_warmup) (Bowman et al. 2016). Adam; EMA weights saved.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch

from ..nets.checkpoint import save_checkpoint
from ..nets.vae import ConvVAE
from ..priors.vae import VAEPrior, dequantize
from .common import TrainConfig, device, ema_update, run_loop, training_dict
from .data import make_source


@dataclass
class VAETrainConfig(TrainConfig):
    latent_dim: int = 32
    width: int = 32
    kl_warmup: int = 1000

    def __post_init__(self):
        for k in ("steps", "batch_size", "latent_dim", "width", "save_every"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")
        if self.lr <= 0:
            raise ValueError("lr must be > 0")


def _elbo_terms(net, x, eps, beta):
    mu, logvar = net.encode(x)
    z = mu + (0.5 * logvar).exp() * eps
    xm = net.decode(z)
    log_s = net.scale()
    d = x[0].numel()
    rec = (0.5 * ((x - xm) ** 2).flatten(1).sum(1) * torch.exp(-2 * log_s)
           + d * (log_s + 0.5 * torch.log(torch.tensor(2 * torch.pi, device=x.device))))
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)
    return rec.mean(), kl.mean(), (rec + beta * kl).mean() / d


def train_vae(cfg: VAETrainConfig, *, progress: bool = True, log=print) -> Path:
    dev = device()
    source = make_source(cfg.data)
    c, h, w = source.image_shape
    if h != w:
        raise ValueError(f"the conv VAE needs square images, got {source.image_shape}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = ConvVAE(c, h, cfg.latent_dim, cfg.width).to(dev)
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 2)

    def step_fn(step):
        net.train()
        x = dequantize(source(cfg.batch_size, gen), gen).to(dev)
        eps = torch.randn(cfg.batch_size, cfg.latent_dim, generator=gen).to(dev)
        beta = min(1.0, (step + 1) / max(1, cfg.kl_warmup))
        rec, kl, loss = _elbo_terms(net, x, eps, beta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        ema_update(ema, net, cfg.ema_decay, step)
        d = x[0].numel()
        return {"loss": loss.item(), "rec": rec.item(), "kl": kl.item(), "beta": beta,
                "neg_elbo_bpd": ((rec + kl).item() + d * 5.545177444479562) / (d * 0.6931471805599453),
                "log_scale": float(net.scale().detach())}

    def checkpoint_fn(step, wall):
        save_checkpoint(cfg.out, ema, {
            "kind": "vae", "name": cfg.name or Path(cfg.out).name,
            "architecture": {"class": "ConvVAE", "config": ema.config},
            "image_shape": list(source.image_shape), "data_range": [0.0, 1.0],
            "latent_shape": [cfg.latent_dim], "dataset": source.name,
            "likelihood": "Gaussian, one learned scale", "training": training_dict(cfg, step, wall)})

    zs = torch.randn(64, cfg.latent_dim, generator=torch.Generator().manual_seed(1234))

    def sample_fn():
        return VAEPrior(ema).generate(zs.to(dev))

    return run_loop(cfg, modules={"net": net, "ema": ema}, optimizers={"opt": opt}, gen=gen, step_fn=step_fn,
                    checkpoint_fn=checkpoint_fn, sample_fn=sample_fn, progress=progress, log=log,
                    desc=f"vae {cfg.name or cfg.data}")
