"""Consistency distillation (Song, Dhariwal, Chen & Sutskever 2023, Alg. 2) of a diffusion prior.

Network units (data on [-1, 1], σ on the teacher's training scale). Karras grid of N levels
σ_i = (σ_min^(1/ρ) + i/(N-1) (σ_max^(1/ρ) - σ_min^(1/ρ)))^ρ, σ_min = 0.002, σ_max = 80, ρ = 7.
Each step, for x ~ data, n ~ U{0, ..., N-2}, z ~ N(0, I):

    x_{n+1} = x + σ_{n+1} z,
    x̂_n    = Heun step of the teacher's PF-ODE dx/dσ = (x - D(x, σ)) / σ from σ_{n+1} to σ_n,
    L(θ)    = d(f_θ(x_{n+1}, σ_{n+1}), f_θ⁻(x̂_n, σ_n)),     θ⁻ ← μ θ⁻ + (1 - μ) θ  (stop-gradient),

with f_θ the consistency parameterisation (priors/consistency.py; f(x, σ_min) = x by
construction) and d either ``pseudo_huber`` d(a, b) = sqrt(||a - b||² + c²) - c, c = 0.00054 √dim
(Song & Dhariwal 2023; the default: LPIPS, the paper's choice, is unavailable here) or ``l2``
(mean squared difference per sample). The student and its target start from the teacher's
weights. The checkpoint holds a slow EMA (``ema_decay``) of θ, as the reference's EMA model.

Reference values (``openai/consistency_models``): CIFAR-10 CD N = 18, lr 4e-4, batch 512;
ImageNet/LSUN N = 40, μ = 0.95, lr 8e-6. Defaults here: N = 18, μ = 0.95, lr 1e-4, batch 32.
Resumable (``train_state.pt``, tensors only), seeded, ``log.jsonl``, sample grids (row 1: one
step, row 2: two steps, same noise); runs on CUDA when available.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from ..nets.checkpoint import save_checkpoint
from ..priors.consistency import ConsistencyParameterization, ConsistencyPrior
from ..priors.diffusion import NetworkDiffusionPrior
from .common import device, ema_update, run_loop, training_dict, optimizer_step
from .data import make_source

LOSSES = ("pseudo_huber", "l2")


@dataclass
class ConsistencyTrainConfig:
    teacher: str
    out: str
    data: str = ""                 # default: the teacher's training data (its config's "dataset")
    steps: int = 5000
    batch_size: int = 32
    lr: float = 1e-4
    warmup: int = 100
    bins: int = 18                 # N
    rho: float = 7.0
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    target_ema: float = 0.95       # μ
    ema_decay: float = 0.999
    loss: str = "pseudo_huber"
    grad_clip: float = 1.0
    seed: int = 0
    save_every: int = 250
    sample_every: int = 1000
    name: str = ""

    def __post_init__(self):
        for k in ("steps", "batch_size", "save_every"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")
        if int(self.bins) < 2:
            raise ValueError(f"bins must be >= 2, got {self.bins}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; known: {', '.join(LOSSES)}")
        if not 0 <= self.target_ema < 1 or not 0 <= self.ema_decay < 1:
            raise ValueError("target_ema and ema_decay must be in [0, 1)")
        if self.lr <= 0 or not 0 < self.sigma_min < self.sigma_max:
            raise ValueError("lr must be > 0 and 0 < sigma_min < sigma_max")


def karras_grid(N: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> torch.Tensor:
    """σ_0 = σ_min < ... < σ_{N-1} = σ_max (float64), Karras et al. 2022 eq. (5) in increasing order."""
    i = torch.arange(N, dtype=torch.float64)
    a, b = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (a + i / (N - 1) * (b - a)) ** rho


@torch.no_grad()
def heun_step(teacher: NetworkDiffusionPrior, x: torch.Tensor, s: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
    """One Heun step of the teacher's PF-ODE from σ = s to s_next (> 0), per sample (network units):
    d = (x - D(x, s)) / s, x_e = x + (s' - s) d, d' = (x_e - D(x_e, s')) / s', x' = x + (s' - s)(d + d')/2."""
    b = lambda t: t.reshape(-1, 1, 1, 1)
    d = (x - teacher.denoise_internal(x, s)) / b(s)
    x_e = x + b(s_next - s) * d
    d2 = (x_e - teacher.denoise_internal(x_e, s_next)) / b(s_next)
    return x + b(s_next - s) * 0.5 * (d + d2)


def distance(a: torch.Tensor, b: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-sample d(a, b): pseudo-Huber sqrt(||a - b||² + c²) - c, c = 0.00054 sqrt(dim), or mean-square."""
    sq = (a - b).flatten(1).pow(2)
    if kind == "l2":
        return sq.mean(1)
    c = 0.00054 * math.sqrt(sq.shape[1])
    return torch.sqrt(sq.sum(1) + c * c) - c


def load_teacher(spec: str, dev) -> NetworkDiffusionPrior:
    from ..priors import load
    teacher = load(spec)
    if not isinstance(teacher, NetworkDiffusionPrior) or isinstance(teacher, ConsistencyPrior):
        raise TypeError(f"the teacher {spec!r} must be a genprior diffusion checkpoint, got {type(teacher).__name__}")
    if teacher.image_shape is None:
        raise ValueError(f"the teacher {spec!r} has no image_shape")
    teacher.net.to(dev).eval().requires_grad_(False)
    return teacher


def train_consistency(cfg: ConsistencyTrainConfig, *, progress: bool = True, log=print, teacher=None) -> Path:
    """Distil ``cfg.teacher`` (a shipped name or checkpoint folder; or an already loaded
    ``teacher`` prior) into a consistency model; resumes from ``cfg.out``. Returns the folder."""
    dev = device()
    if teacher is None:
        teacher = load_teacher(cfg.teacher, dev)
    else:
        teacher.net.to(dev).eval().requires_grad_(False)
    source = make_source(cfg.data or teacher.config.get("dataset", ""))
    if tuple(source.image_shape) != tuple(teacher.image_shape):
        raise ValueError(f"data images {source.image_shape} do not match the teacher's {teacher.image_shape}")
    a, b, sd = teacher.scale, teacher.shift, teacher.sigma_data
    net = copy.deepcopy(teacher.net).to(dev).requires_grad_(True)
    target = copy.deepcopy(net).eval().requires_grad_(False)
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 7)
    sigmas = karras_grid(int(cfg.bins), cfg.sigma_min, cfg.sigma_max, cfg.rho).float()
    param = ConsistencyParameterization(cfg.sigma_min)

    def wrap(m):
        return NetworkDiffusionPrior(m, parameterization=param, sigma_data=sd, scale=a, shift=b,
                                     image_shape=teacher.image_shape, sigma_min=cfg.sigma_min, sigma_max=cfg.sigma_max)
    student, student_target = wrap(net), wrap(target)
    B = int(cfg.batch_size)

    def step_fn(step):
        net.train()
        x = (a * source(B, gen) + b).to(dev)
        n = torch.randint(0, int(cfg.bins) - 1, (B,), generator=gen)
        z = torch.randn(x.shape, generator=gen).to(dev)
        s_next, s = sigmas[n + 1].to(dev), sigmas[n].to(dev)
        x_next = x + s_next.reshape(-1, 1, 1, 1) * z
        x_hat = heun_step(teacher, x_next, s_next, s)
        with torch.no_grad():
            f_target = student_target.denoise_internal(x_hat, s)
        f = student.denoise_internal(x_next, s_next)
        loss = distance(f, f_target, cfg.loss).mean()
        gnorm = optimizer_step(opt, net, loss, cfg, step)
        with torch.no_grad():
            for pt, p in zip(target.parameters(), net.parameters()):
                pt.lerp_(p, 1 - cfg.target_ema)
            for bt, bb in zip(target.buffers(), net.buffers()):
                bt.copy_(bb)
        ema_update(ema, net, cfg.ema_decay, step)
        return {"loss": loss.item(), "grad_norm": gnorm, "sigma_mean": float(s_next.mean())}

    def checkpoint_fn(step, wall):
        save_checkpoint(cfg.out, ema, checkpoint_config(cfg, teacher, ema, source.name, step, wall))

    z_fixed = torch.randn((8, 2 * teacher.image_shape[0], *teacher.image_shape[1:]),
                          generator=torch.Generator().manual_seed(1234))

    def sample_fn():
        cm = ConsistencyPrior(ema, sigma_data=sd, scale=a, shift=b, image_shape=teacher.image_shape,
                              sigma_min=cfg.sigma_min, sigma_max=cfg.sigma_max, steps=2)
        C = teacher.image_shape[0]
        one = cm.with_steps(1).generate(z_fixed[:, :C].to(dev))
        two = cm.generate(z_fixed.to(dev))
        return torch.cat([one, two]), 8

    return run_loop(cfg, modules={"net": net, "target": target, "ema": ema}, optimizers={"opt": opt}, gen=gen,
                    step_fn=step_fn, checkpoint_fn=checkpoint_fn, sample_fn=sample_fn, progress=progress, log=log,
                    desc=f"consistency {cfg.name or Path(cfg.out).name}")


def checkpoint_config(cfg: ConsistencyTrainConfig, teacher, net, source_name: str, step: int, wall: float) -> dict:
    return {
        "kind": "consistency",
        "name": cfg.name or Path(cfg.out).name,
        "architecture": {"class": type(net).__name__, "config": net.config},
        "parameterization": "consistency",
        "sigma_data": teacher.sigma_data,
        "data_range": [0.0, 1.0],
        "network_range": [teacher.shift, teacher.shift + teacher.scale],
        "image_shape": list(teacher.image_shape),
        "sigma_min": cfg.sigma_min,
        "sigma_max": cfg.sigma_max,
        "teacher": teacher.config.get("name", cfg.teacher),
        "dataset": source_name,
        "objective": f"consistency distillation (Song et al. 2023), teacher Heun, N={cfg.bins}, "
                     f"mu={cfg.target_ema}, d={cfg.loss}",
        "training": training_dict(cfg, step, wall),
    }
