"""The reverse-time loop shared by every splitting method: at each level a network call gives
x0, a DC step may correct it (``before``), a prior step moves to the next level, and the DC step
may correct the result (``after``). Samples are drawn as a batch of N x B (sample-major).

Also the pieces every diffusion method shares: the common options, the schedule they imply,
the set-up (batch repeat, dtype, start noise, NFE baseline) and the result.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..._checks import check_finite_step
from ...schedules.samplers import make_prior_step
from ..base import Result, progress_range
from .dc import DCStep, StepContext
from ...registry import Registry

#: every diffusion method needs Tweedie's x0 from its prior
NEEDS = ("x0",)


@dataclass(kw_only=True)
class DiffusionOptions:
    """Options every diffusion method has. Units: sigmas on the prior's image scale."""

    steps: int = 50
    schedule: str = "edm"          # edm | vp | vp_cosine | ve (on the prior's image scale)
    sigma_max: float | None = None
    sigma_min: float | None = None
    num_samples: int = 1

    def __post_init__(self):
        if int(self.steps) < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if int(self.num_samples) < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        from ...schedules.schedules import SCHEDULES
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; known: {', '.join(SCHEDULES)}")
        for name in ("sigma_min", "sigma_max"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(float(v)) and float(v) > 0):
                raise ValueError(f"{name} must be finite and > 0, got {v}")
        if self.sigma_min is not None and self.sigma_max is not None and self.sigma_min >= self.sigma_max:
            raise ValueError(f"sigma_min ({self.sigma_min}) must be below sigma_max ({self.sigma_max})")
        nxt = super()
        if hasattr(nxt, "__post_init__"):      # a DC step's own validation (options derive from it)
            nxt.__post_init__()


def sigmas_for(prior, o: DiffusionOptions, sigma_max: float | None = None) -> torch.Tensor:
    """The schedule of ``o`` on ``prior``; ``sigma_max`` is a method's default start level, used
    when the user set none."""
    top = o.sigma_max if o.sigma_max is not None else sigma_max
    if o.schedule == "edm":
        kw = {}
        if top is not None:
            kw["sigma_max"] = top
        if o.sigma_min is not None:
            kw["sigma_min"] = o.sigma_min
        return prior.sigmas(int(o.steps), "edm", **kw)
    s = prior.sigmas(int(o.steps), o.schedule)
    if top is not None:
        s = s[(s <= top) | (s == 0)]
    return s


def weight_schedule(kind: str, n: int, scale: float = 1.0) -> list[float]:
    """Weights w_k of the DC step over the n steps: constant, linear (1 -> 0 over time, i.e.
    stronger early), increasing (0 -> 1), cosine."""
    if kind not in WEIGHTS:
        raise ValueError(f"unknown weight schedule {kind!r}; known: {', '.join(WEIGHTS)}")
    if n < 1:
        return []
    t = [k / max(n - 1, 1) for k in range(n)]
    return [scale * WEIGHTS[kind](v) for v in t]


WEIGHTS = Registry("weight schedule", {"constant": lambda v: 1.0, "linear": lambda v: 1 - v, "increasing": lambda v: v,
           "cosine": lambda v: 0.5 * (1 + math.cos(math.pi * v))})


def repeat_batch(y: torch.Tensor, n: int) -> torch.Tensor:
    return y.repeat(n, *[1] * (y.ndim - 1))


@dataclass
class Run:
    """The set-up of one diffusion run: the measurement repeated per sample (``yb``), the working
    dtype, the schedule in it, the start state ``x`` = sigmas[0] z (None without start noise) and
    the prior's NFE count at the start."""

    B: int
    num_samples: int
    yb: torch.Tensor
    dtype: torch.dtype
    sigmas: torch.Tensor
    x: torch.Tensor | None
    nfe0: int

    def finish(self, x: torch.Tensor, prior, *, extra_nfe: int = 0, history: dict | None = None,
               info: dict | None = None) -> Result:
        """The result: samples (N, B, ...) with their mean and std; nfe = network calls since the
        start + ``extra_nfe`` (backward passes)."""
        return finish(x, self.num_samples, self.B, nfe=prior.nfe - self.nfe0 + extra_nfe, history=history or {},
                      info={"steps": len(self.sigmas) - 1, **(info or {})})


def setup(prior, problem, y, sigmas, num_samples: int, generator, *, start_noise: bool = True) -> Run:
    """Batch repeat, dtype, start noise x = sigmas[0] z (drawn first from ``generator``), NFE baseline."""
    A = problem.operator
    B = y.shape[0]
    yb = repeat_batch(y, num_samples)
    dtype = y.real.dtype
    sigmas = sigmas.to(dtype)
    x = None
    if start_noise:
        x = torch.randn((num_samples * B, *A.x_shape), generator=generator, dtype=dtype, device=y.device) * sigmas[0]
    return Run(B, num_samples, yb, dtype, sigmas, x, prior.nfe)


def finish(samples_flat: torch.Tensor, n: int, b: int, *, nfe: int, history: dict, info: dict) -> Result:
    samples = samples_flat.reshape(n, b, *samples_flat.shape[1:])
    mean = samples.mean(0)
    std = samples.std(0) if n > 1 else torch.zeros_like(mean)
    return Result(x=mean if n > 1 else samples[0], samples=samples if n > 1 else None, mean=mean if n > 1 else None,
                  std=std if n > 1 else None, nfe=nfe, history=history, info=info)


def reverse_loop(prior, problem, y, sigmas, prior_step, dc: DCStep, *, weights=None, num_samples: int = 1,
                 eps_from: str = "modified", generator=None, progress=False, name="diffusion", callback=None) -> Result:
    """Run the splitting loop; ``eps_from="network"`` builds the prior step's noise estimate from
    the network's x0 (DDS, PiGDM), ``"modified"`` from the corrected one (DiffPIR, DPS).
    ``prior_step`` is a step of :mod:`genprior.schedules.samplers` (or its name)."""
    if eps_from not in ("modified", "network"):
        raise ValueError(f"eps_from must be 'modified' or 'network', got {eps_from!r}")
    if isinstance(prior_step, str):
        prior_step = make_prior_step(prior_step)
    run = setup(prior, problem, y, sigmas, num_samples, generator)
    sigmas, yb, x = run.sigmas, run.yb, run.x
    steps = len(sigmas) - 1
    weights = weights if weights is not None else [1.0] * steps
    counters = {"vjp": 0}
    hist = {"sigma": [], "residual": []}
    for i in progress_range(steps, progress, name):
        s, s_next = sigmas[i], sigmas[i + 1]
        if dc.needs_grad:
            x = x.detach().requires_grad_(True)
            with torch.enable_grad():
                x0 = prior.x0(x, s)
        else:
            with torch.no_grad():
                x0 = prior.x0(x, s)
        ctx = StepContext(i=i, sigma=s, sigma_next=s_next, x=x, x0=x0, y=yb, problem=problem, weight=weights[i],
                          generator=generator, counters=counters)
        x0_used = dc.before(ctx)
        x0_d = x0.detach()
        eps = (x.detach() - (x0_d if eps_from == "network" else x0_used.detach())) / s
        x_next = prior_step(x.detach(), x0_used.detach(), eps, s, s_next, generator, prior)
        x_next = dc.after(ctx, x_next).detach()
        check_finite_step(x_next, f"{name} step {i} (sigma={float(s):.4g})")
        if callback is not None:
            callback(dict(i=i, x=x_next, sigma=s, sigma_next=s_next, denoised=x0_used))
        hist["sigma"].append(float(s))
        x = x_next
    with torch.no_grad():
        hist["residual"].append(problem.data.relative_residual(x, yb))
    forward = prior.nfe - run.nfe0
    return run.finish(x.detach(), prior, extra_nfe=counters["vjp"], history=hist,
                      info={"network_forward": forward, "network_backward": counters["vjp"], "dc": dc.name})


def run_split(prior, problem, y, o: DiffusionOptions, prior_step, dc: DCStep, generator, progress, name, *,
              eps_from: str = "modified", weights=None, sigma_max: float | None = None) -> Result:
    """A named splitting method: the schedule of ``o`` (``sigma_max``: the method's default start) on the loop."""
    return reverse_loop(prior, problem, y, sigmas_for(prior, o, sigma_max), prior_step, dc, weights=weights,
                        num_samples=int(o.num_samples), eps_from=eps_from, generator=generator, progress=progress,
                        name=name)
