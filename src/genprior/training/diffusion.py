"""Train a diffusion prior (EDM-preconditioned denoiser over noise levels), resumably.

Loss (Karras et al. 2022, eq. 8): E_{sigma, x0, eps} lambda(sigma) ||D(x0 + sigma eps, sigma) - x0||²
with ln(sigma) ~ N(p_mean, p_std²), on data mapped to [-1, 1]. Keeps an EMA of the weights; the
EMA network is what is saved as the checkpoint (``config.json`` + ``model.safetensors``).

Resumable: ``train_state.pt`` (tensors only, loaded with ``weights_only=True``) holds model, EMA,
optimizer, step and generator state; re-running the same command continues from it.
Distributed: when launched by ``torchrun`` (``WORLD_SIZE`` > 1) it uses torch.distributed with
DistributedDataParallel (gloo on CPU, nccl on GPU); only rank 0 writes files.
"""
from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..nets.checkpoint import save_checkpoint
from ..nets.unet import UNet
from ..priors.diffusion import NetworkDiffusionPrior, lognormal_sigmas
from .data import make_source


@dataclass
class DiffusionTrainConfig:
    data: str
    out: str
    steps: int = 10000
    batch_size: int = 32
    lr: float = 2e-4
    warmup: int = 200
    ema_decay: float = 0.999
    parameterization: str = "edm"
    channels: tuple = (32, 64, 64)
    num_res_blocks: int = 1
    attn_levels: tuple = ()
    dropout: float = 0.0
    p_mean: float = -1.2
    p_std: float = 1.2
    sigma_data: float = 0.5
    seed: int = 0
    save_every: int = 250
    sample_every: int = 1000
    grad_clip: float = 1.0
    name: str = ""
    extra: dict = field(default_factory=dict)


def _dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return world, rank


def save_grid(x: torch.Tensor, path, nrow: int | None = None) -> None:
    """Save a batch (N, C, H, W) in [0, 1] as one PNG grid."""
    import numpy as np
    from PIL import Image
    x = x.detach().float().clamp(0, 1).cpu()
    n, c, h, w = x.shape
    nrow = nrow or int(math.ceil(math.sqrt(n)))
    ncol = int(math.ceil(n / nrow))
    grid = torch.ones(c, ncol * (h + 2) + 2, nrow * (w + 2) + 2)
    for i in range(n):
        r, q = divmod(i, nrow)
        grid[:, 2 + r * (h + 2):2 + r * (h + 2) + h, 2 + q * (w + 2):2 + q * (w + 2) + w] = x[i]
    arr = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(arr[..., 0] if c == 1 else arr).save(path)


def build_prior(cfg: DiffusionTrainConfig, image_shape) -> NetworkDiffusionPrior:
    net = UNet(in_channels=image_shape[0], channels=cfg.channels, num_res_blocks=cfg.num_res_blocks,
               attn_levels=cfg.attn_levels, dropout=cfg.dropout)
    return NetworkDiffusionPrior(net, parameterization=cfg.parameterization, sigma_data=cfg.sigma_data,
                                 image_shape=image_shape)


def checkpoint_config(cfg: DiffusionTrainConfig, prior: NetworkDiffusionPrior, step: int, wall: float,
                      source_name: str) -> dict:
    return {
        "kind": "diffusion",
        "name": cfg.name or Path(cfg.out).name,
        "architecture": {"class": "UNet", "config": prior.net.config},
        "parameterization": cfg.parameterization,
        "sigma_data": cfg.sigma_data,
        "data_range": [0.0, 1.0],
        "network_range": [-1.0, 1.0],
        "image_shape": list(prior.image_shape),
        "sigma_min": 0.002,
        "sigma_max": 80.0,
        "dataset": source_name,
        "training": {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
                     "steps_done": step, "wall_time_s": round(wall, 1)},
    }


def train_diffusion(cfg: DiffusionTrainConfig, *, progress: bool = True, log=print) -> Path:
    """Train (or resume) and return the output folder. The EMA checkpoint is written every
    ``save_every`` steps and at the end."""
    world, rank = _dist_info()
    distributed = world > 1
    if distributed and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    out = Path(cfg.out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    source = make_source(cfg.data)
    with torch.random.fork_rng(devices=[]):     # seeded initialisation without touching the global RNG
        torch.manual_seed(cfg.seed)
        prior = build_prior(cfg, source.image_shape)
    net = prior.net
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(0.9, 0.99), eps=1e-8)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank)
    step, wall = 0, 0.0
    state_file = out / "train_state.pt"
    if state_file.exists():
        st = torch.load(state_file, map_location="cpu", weights_only=True)
        net.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        step, wall = int(st["step"]), float(st["wall"])
        gens = st["generators"]
        gen.set_state(gens[rank] if rank < len(gens) else gens[0])
        log(f"resumed from {state_file} at step {step}")
    ddp = torch.nn.parallel.DistributedDataParallel(net) if distributed else net
    ema_prior = NetworkDiffusionPrior(ema, parameterization=cfg.parameterization, sigma_data=cfg.sigma_data,
                                      image_shape=source.image_shape)
    train_prior = NetworkDiffusionPrior(ddp, parameterization=cfg.parameterization, sigma_data=cfg.sigma_data,
                                        image_shape=source.image_shape)

    def save(step, wall):
        gens = [gen.get_state()]
        if distributed:                      # every rank takes part in the collective
            gathered = [None] * world
            torch.distributed.all_gather_object(gathered, gen.get_state())
            gens = gathered
        if rank != 0:
            return
        tmp = out / "train_state.pt.tmp"
        torch.save({"model": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "step": torch.tensor(step), "wall": torch.tensor(wall), "generators": gens}, tmp)
        os.replace(tmp, state_file)
        save_checkpoint(out, ema, checkpoint_config(cfg, ema_prior, step, wall, source.name))

    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm
        bar = tqdm(total=cfg.steps, initial=step, desc=f"train {cfg.name or cfg.data}", dynamic_ncols=True)
    logf = open(out / "log.jsonl", "a") if rank == 0 else None
    net.train()
    t_last = time.perf_counter()
    while step < cfg.steps:
        x0 = source(cfg.batch_size, gen) * 2 - 1
        sigma = lognormal_sigmas(cfg.batch_size, cfg.p_mean, cfg.p_std, generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        D = train_prior.denoise_internal(x0 + sigma[:, None, None, None] * noise, sigma)
        w = train_prior.loss_weight(sigma)
        loss = (w[:, None, None, None] * (D - x0) ** 2).mean()
        for g in opt.param_groups:
            g["lr"] = cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        opt.step()
        with torch.no_grad():
            decay = min(cfg.ema_decay, (1 + step) / (10 + step))  # warm-up of the EMA
            for pe, p in zip(ema.parameters(), net.parameters()):
                pe.lerp_(p, 1 - decay)
            for be, b in zip(ema.buffers(), net.buffers()):
                be.copy_(b)
        step += 1
        now = time.perf_counter()
        wall += now - t_last
        t_last = now
        if logf is not None:
            logf.write(json.dumps({"step": step, "loss": round(loss.item(), 6), "grad_norm": round(float(gnorm), 4),
                                   "wall": round(wall, 2)}) + "\n")
            if step % 50 == 0:
                logf.flush()
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        if step % cfg.save_every == 0 or step == cfg.steps:
            save(step, wall)
        if rank == 0 and cfg.sample_every and (step % cfg.sample_every == 0 or step == cfg.steps):
            g = torch.Generator().manual_seed(1234)
            samples = ema_prior.sample(16, steps=24, generator=g)
            save_grid(samples, out / f"samples_{step:07d}.png")
            t_last = time.perf_counter()  # sampling time is not training time
    if bar is not None:
        bar.close()
    if logf is not None:
        logf.close()
    return out
