"""The reverse-time loop shared by every splitting method: at each level a network call gives
x0, a DC step may correct it (``before``), a prior step moves to the next level, and the DC step
may correct the result (``after``). Samples are drawn as a batch of N x B (sample-major)."""
from __future__ import annotations

import math

import torch

from ..._checks import check_finite_step
from ..base import Result, progress_range
from .dc import DCStep, StepContext


def weight_schedule(kind: str, n: int, scale: float = 1.0) -> list[float]:
    """Weights w_k of the DC step over the n steps: constant, linear (1 -> 0 over time, i.e.
    stronger early), increasing (0 -> 1), cosine."""
    if n < 1:
        return []
    t = [k / max(n - 1, 1) for k in range(n)]
    if kind == "constant":
        w = [1.0] * n
    elif kind == "linear":
        w = [1 - v for v in t]
    elif kind == "increasing":
        w = t
    elif kind == "cosine":
        w = [0.5 * (1 + math.cos(math.pi * v)) for v in t]
    else:
        raise ValueError(f"unknown weight schedule {kind!r}; known: constant, linear, increasing, cosine")
    return [scale * v for v in w]


def repeat_batch(y: torch.Tensor, n: int) -> torch.Tensor:
    return y.repeat(n, *[1] * (y.ndim - 1))


def finish(samples_flat: torch.Tensor, n: int, b: int, *, nfe: int, history: dict, info: dict) -> Result:
    samples = samples_flat.reshape(n, b, *samples_flat.shape[1:])
    mean = samples.mean(0)
    std = samples.std(0) if n > 1 else torch.zeros_like(mean)
    return Result(x=mean if n > 1 else samples[0], samples=samples if n > 1 else None, mean=mean if n > 1 else None,
                  std=std if n > 1 else None, nfe=nfe, history=history, info=info)


def reverse_loop(prior, problem, y, sigmas, prior_step, dc: DCStep, *, weights=None, num_samples: int = 1,
                 eps_from: str = "modified", generator=None, progress=False, name="diffusion", callback=None) -> Result:
    """Run the splitting loop; ``eps_from="network"`` builds the prior step's noise estimate from
    the network's x0 (DDS, PiGDM), ``"modified"`` from the corrected one (DiffPIR, DPS)."""
    if eps_from not in ("modified", "network"):
        raise ValueError(f"eps_from must be 'modified' or 'network', got {eps_from!r}")
    A = problem.operator
    B = y.shape[0]
    yb = repeat_batch(y, num_samples)
    dtype = y.real.dtype
    sigmas = sigmas.to(dtype)
    steps = len(sigmas) - 1
    weights = weights if weights is not None else [1.0] * steps
    x = torch.randn((num_samples * B, *A.x_shape), generator=generator, dtype=dtype, device=y.device) * sigmas[0]
    counters = {"vjp": 0}
    nfe0 = prior.nfe
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
            callback(dict(i=i, x=x_next, sigma=s, denoised=x0_used))
        hist["sigma"].append(float(s))
        x = x_next
    with torch.no_grad():
        r = A._forward(x) - yb
        hist["residual"].append(float((r.abs() ** 2).sum().sqrt() / (yb.abs() ** 2).sum().sqrt().clamp_min(1e-30)))
    nfe = (prior.nfe - nfe0) + counters["vjp"]
    return finish(x.detach(), num_samples, B, nfe=nfe, history=hist,
                  info={"steps": steps, "network_forward": prior.nfe - nfe0, "network_backward": counters["vjp"]})
