"""Train an amortized posterior network for one task, resumably (``genprior train amortized``).

Pairs are drawn on the fly: x from the data source, y = A x + σ_y n from the task (one seeded
generator for both), and the condition c = [2 Φ(y) - 1, σ_y / 0.1] of
:mod:`genprior.priors.amortized` (Φ = FBP for CT, A† for operators with an SVD, else Aᵀ / ||A||²).

* ``model="diffusion"``: conditional EDM (Karras et al. 2022, eq. 8; Saharia et al. 2022, SR3):
  E λ(σ) ||D(x + σ ε, σ | c) - x||², ln σ ~ N(p_mean, p_std²), data in [-1, 1].
* ``model="mmse"``: the regressor x̂ = c + F(c) with E ||x̂ - x||² (Jin et al. 2017, FBPConvNet),
  i.e. x̂ → E[x | y].

The UNet of the unconditional priors with the condition as extra input channels (in = 2C + 1
for diffusion, C + 1 for the regressor; out = C). EMA of the weights is what the checkpoint holds;
``train_state.pt`` / ``log.jsonl`` / sample grids as in :mod:`.common` (grid rows: truth, Φ(y),
then two posterior samples or the estimate). Runs on CUDA when present.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..nets.checkpoint import save_checkpoint
from ..nets.unet import UNet
from ..priors.amortized import CONDITIONS, AmortizedPrior, resolve_condition, task_signature
from ..priors.diffusion import PARAMETERIZATIONS, lognormal_sigmas
from .common import device, ema_update, run_loop, training_dict, optimizer_step
from .data import make_source


@dataclass
class AmortizedTrainConfig:
    task: str
    data: str
    out: str
    model: str = "diffusion"
    task_options: dict = field(default_factory=dict)
    sigma_y: float = 0.01
    condition: str = "auto"
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
    grad_clip: float = 1.0
    seed: int = 0
    save_every: int = 250
    sample_every: int = 1000
    sample_steps: int = 18
    name: str = ""

    def __post_init__(self):
        if self.model not in ("diffusion", "mmse"):
            raise ValueError(f"model must be one of ('diffusion', 'mmse'), got {self.model!r} "
                             "(a conditional flow for vector problems: train_amortized_flow)")
        if self.condition not in CONDITIONS or self.condition == "y":
            raise ValueError(f"condition must be one of {CONDITIONS[:-1]} for an image model, got {self.condition!r}")
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"unknown parameterization {self.parameterization!r}")
        for k in ("steps", "batch_size", "save_every", "sample_steps"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")
        if not self.sigma_y > 0:
            raise ValueError(f"sigma_y must be > 0 for an amortized model (y is noisy), got {self.sigma_y}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        self.channels, self.attn_levels = tuple(self.channels), tuple(self.attn_levels)


def build(cfg: AmortizedTrainConfig, image_shape, problem) -> AmortizedPrior:
    """The (untrained) network and its prior for ``cfg`` on ``problem``."""
    C = image_shape[0]
    in_ch = (2 * C + 1) if cfg.model == "diffusion" else (C + 1)
    net = UNet(in_channels=in_ch, out_channels=C, channels=cfg.channels, num_res_blocks=cfg.num_res_blocks,
               attn_levels=cfg.attn_levels, dropout=cfg.dropout)
    return AmortizedPrior(net, model=cfg.model, task=cfg.task, task_options=cfg.task_options, sigma_y=cfg.sigma_y,
                          image_shape=image_shape, condition=resolve_condition(cfg.condition, problem.operator),
                          parameterization=cfg.parameterization, sigma_data=cfg.sigma_data,
                          name=cfg.name or Path(cfg.out).name)


def checkpoint_config(cfg: AmortizedTrainConfig, prior: AmortizedPrior, step: int, wall: float, source_name: str) -> dict:
    return {"kind": "amortized", "name": prior.name, "model": prior.model,
            "architecture": {"class": "UNet", "config": prior.net.config},
            "task": prior.task, "task_options": prior.task_options, "sigma_y": prior.sigma_y,
            "image_shape": list(prior.image_shape), "condition": prior.condition,
            "parameterization": prior.parameterization, "sigma_data": prior.sigma_data,
            "sigma_min": 0.002, "sigma_max": 80.0, "data_range": [0.0, 1.0], "network_range": [-1.0, 1.0],
            "dataset": source_name, "training": training_dict(cfg, step, wall)}


def train_amortized(cfg: AmortizedTrainConfig, *, progress: bool = True, log=print) -> Path:
    """Train (or resume) and return the output folder."""
    from .. import tasks
    dev = device()
    source = make_source(cfg.data)
    shape = tuple(source.image_shape)
    problem = tasks.make(cfg.task, shape, sigma_y=cfg.sigma_y, **cfg.task_options)
    cfg.task_options = {k: v for k, v in task_signature(cfg.task, cfg.task_options).items()}
    with torch.random.fork_rng(devices=[]):     # seeded initialisation, global RNG untouched
        torch.manual_seed(cfg.seed)
        prior = build(cfg, shape, problem)
    net = prior.net.to(dev)
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    ema_prior = AmortizedPrior(ema, model=prior.model, task=prior.task, task_options=prior.task_options,
                               sigma_y=prior.sigma_y, image_shape=shape, condition=prior.condition,
                               parameterization=prior.parameterization, sigma_data=prior.sigma_data, name=prior.name)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(0.9, 0.99), eps=1e-8)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 7)
    B = cfg.batch_size

    def pairs(n, g):
        x = source(n, g)
        y = problem.measure(x, generator=g)
        return x, prior.condition_input(problem, y)

    def step_fn(step):
        net.train()
        x, cond = pairs(B, gen)
        x0 = (x * 2 - 1).to(dev)
        cond = cond.to(dev)
        if cfg.model == "diffusion":
            sigma = lognormal_sigmas(B, cfg.p_mean, cfg.p_std, generator=gen)
            noise = torch.randn(x0.shape, generator=gen)
            sigma, noise = sigma.to(dev), noise.to(dev)
            D = prior.denoise_internal(x0 + sigma[:, None, None, None] * noise, sigma, cond)
            w = prior.precond.loss_weight(sigma, cfg.sigma_data)
            loss = (w[:, None, None, None] * (D - x0) ** 2).mean()
        else:
            loss = ((prior.regress_internal(cond) - x0) ** 2).mean()
        gnorm = optimizer_step(opt, net, loss, cfg, step)
        ema_update(ema, net, cfg.ema_decay, step)
        return {"loss": loss.item(), "grad_norm": gnorm}

    def checkpoint_fn(step, wall):
        save_checkpoint(cfg.out, ema, checkpoint_config(cfg, ema_prior, step, wall, source.name))

    gx, gcond = pairs(8, torch.Generator().manual_seed(1234))

    def sample_fn():
        from ..schedules import get_sampler
        cond = gcond.to(dev)
        rows = [gx, ((gcond[:, :shape[0]] + 1) / 2)]
        if cfg.model == "diffusion":
            g = torch.Generator().manual_seed(4321)
            bound = ema_prior.bind(cond)
            sig = ema_prior.sigmas(cfg.sample_steps).to(dev)
            for _ in range(2):
                z = torch.randn((8, *shape), generator=g).to(dev) * sig[0]
                rows.append(get_sampler("heun")(bound, z, sig).cpu())
        else:
            rows.append(ema_prior.mmse(cond).cpu())
        return torch.cat(rows).clamp(0, 1), 8

    return run_loop(cfg, modules={"net": net, "ema": ema}, optimizers={"opt": opt}, gen=gen, step_fn=step_fn,
                    checkpoint_fn=checkpoint_fn, sample_fn=sample_fn, progress=progress, log=log,
                    desc=f"amortized {cfg.model} {cfg.task}/{cfg.data}")


@dataclass
class FlowTrainConfig:
    """A conditional RealNVP for a vector problem (``x`` of shape (d,), real ``y``)."""

    out: str
    steps: int = 4000
    batch_size: int = 512
    lr: float = 1e-3
    hidden: int = 128
    layers: int = 8
    grad_clip: float = 10.0
    seed: int = 0
    save_every: int = 1000
    sample_every: int = 0
    name: str = ""

    def __post_init__(self):
        for k in ("steps", "batch_size", "hidden", "layers", "save_every"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


def train_amortized_flow(cfg: FlowTrainConfig, problem, sample_x, *, progress: bool = True, log=print) -> AmortizedPrior:
    """Maximum likelihood E -log q(x | y) over pairs x = ``sample_x(n, generator)``, y = A x + σ_y n
    (Ardizzone et al. 2019); resumable like the other trainers. Returns the trained prior (the
    checkpoint in ``cfg.out`` records the problem's name, options, σ_y, shape and operator digest)."""
    from ..nets.cflow import ConditionalRealNVP
    from ..priors.amortized import operator_digest
    if len(problem.x_shape) != 1 or problem.operator.complex_measurements:
        raise ValueError(f"the conditional flow is for real vector problems, got x shape {tuple(problem.x_shape)}")
    d, m = problem.x_shape[0], int(torch.tensor(problem.y_shape).prod())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = ConditionalRealNVP(d, m, hidden=cfg.hidden, layers=cfg.layers)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 11)

    def pairs(n, g):
        x = sample_x(n, g)
        y = problem.measure(x, generator=g)
        return x.float(), y.reshape(n, -1).float()

    prior = AmortizedPrior(net, model="flow", task=problem.name, task_options=problem.options, sigma_y=problem.sigma_y,
                           image_shape=(d,), condition="y", name=cfg.name or Path(cfg.out).name,
                           operator_digest=operator_digest(problem.operator))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)

    def init_fn():
        net.set_standardization(*pairs(8192, torch.Generator().manual_seed(cfg.seed * 1000 + 12)))

    def step_fn(step):
        x, y = pairs(cfg.batch_size, gen)
        loss = -net.log_prob(x, y).mean()
        for grp in opt.param_groups:      # cosine decay to 0
            grp["lr"] = cfg.lr * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * step / cfg.steps))).item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        opt.step()
        return {"nll": loss.item()}

    def checkpoint_fn(step, wall):
        save_checkpoint(cfg.out, net, {
            "kind": "amortized", "name": prior.name, "model": "flow",
            "architecture": {"class": "ConditionalRealNVP", "config": net.config},
            "task": prior.task, "task_options": prior.task_options, "sigma_y": prior.sigma_y,
            "image_shape": list(prior.image_shape), "condition": "y", "operator_digest": prior.operator_digest,
            "training": training_dict(cfg, step, wall)})

    run_loop(cfg, modules={"net": net}, optimizers={"opt": opt}, gen=gen, step_fn=step_fn, checkpoint_fn=checkpoint_fn,
             init_fn=init_fn, progress=progress, log=log, desc=f"amortized flow {problem.name}")
    net.eval().requires_grad_(False)
    return prior
