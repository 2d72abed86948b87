"""Annealed Langevin posterior sampling with a diffusion prior (Song & Ermon 2019; for inverse
problems Jalal et al. 2021), Metropolis-adjusted where the prior has an exact log-density.

At each level sigma_k of the schedule (sigma_max -> sigma_min, no 0) ``inner`` Langevin steps
target pi_k(x) ∝ p_{sigma_k}(x) N(y; A x, v_k I), v_k = sigma_y² + sigma_k² ||A||², with
    x' = x + tau_k ∇log pi_k(x) + sqrt(2 tau_k) xi,  ∇log p_sigma = (x0(x, sigma) - x)/sigma² (Tweedie),
tau_k = h / (1/sigma_k² + ||A||²/v_k). With a log-density (``log_prob(x, sigma)``, e.g. the
Gaussian mixture) each move passes the MALA test (Roberts & Tweedie 1996) and h adapts per chain
towards acceptance 0.574 (Roberts & Rosenthal 1998) until the last level, where ``final_steps``
more steps run with h fixed: then the last level's chain is exact for pi_K (the posterior up to
the sigma_min smoothing). Without one it is ULA (biased by O(tau)). ``num_samples`` chains run as
one batch; each returns its last state. Not exact across well-separated modes: the annealing has
no importance weights, so mode weights come out approximately (measured on a three-component
mixture: the 5 % mode over-weighted; tests/solvers/mcmc/test_annealed_langevin.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..._checks import check_finite_step, check_positive
from ..base import Result, progress_range, register
from ..diffusion.loop import DiffusionOptions, sigmas_for
from ..latent.common import flat_sq, rand, randn, repeat_batch, sigma_of


@dataclass(kw_only=True)
class AnnealedLangevinOptions(DiffusionOptions):
    """``steps`` levels, ``inner`` Langevin steps per level, ``final_steps`` extra steps at the
    last level (h fixed); ``step_scale`` h (default 1: adapted with the Metropolis test; fixed without
    it, chosen on validation images of both shipped priors, benchmarks/tuning/tune_langevin_step*.json:
    h = 0.1 / 0.3 / 0.5 / 1 / 1.5 / 2 gave a worst PSNR loss of 19.1 / 9.8 / 6.3 / 1.9 / 1.85 / 4.9 dB
    over five image tasks — smaller steps leave the 400-call chain far from the posterior; 1 and 1.5
    tie, 1 is kept: ULA's O(h) bias is smaller and its coverage higher);
    ``metropolis``: None = when the prior has ``log_prob``."""
    steps: int = 50
    inner: int = 5
    final_steps: int = 100
    step_scale: float | None = None
    metropolis: bool | None = None
    target_accept: float = 0.574

    def __post_init__(self):
        super().__post_init__()
        if int(self.inner) < 1:
            raise ValueError(f"inner must be >= 1, got {self.inner}")
        if int(self.final_steps) < 0:
            raise ValueError(f"final_steps must be >= 0, got {self.final_steps}")
        if self.step_scale is not None:
            check_positive(self.step_scale, "step_scale")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept}")


@register("annealed_langevin", AnnealedLangevinOptions, needs=("x0",))
def annealed_langevin(problem, y, prior, o: AnnealedLangevinOptions, generator, progress):
    """Annealed Langevin: per level sigma, x' = x + tau ∇log pi_sigma(x) + sqrt(2 tau) xi with
    pi_sigma ∝ p_sigma(x) N(y; A x, sigma_y² + sigma² ||A||²); MALA-corrected where the prior has
    log_prob. Any linear operator."""
    A = problem.operator
    caps = getattr(prior, "capabilities", frozenset())
    mh = ("log_prob" in caps) if o.metropolis is None else bool(o.metropolis)
    if mh and "log_prob" not in caps:
        raise TypeError(f"metropolis=True needs a prior with log_prob; {type(prior).__name__} has none")
    sy2 = sigma_of(problem) ** 2
    a2 = A.norm() ** 2
    sig = sigmas_for(prior, o)
    sig = [float(s) for s in sig if float(s) > 0]
    B, S = y.shape[0], int(o.num_samples)
    yr = repeat_batch(y, S)
    dtype = y.real.dtype
    nfe0 = prior.nfe
    x = torch.randn((S * B, *A.x_shape), generator=generator, dtype=dtype, device=y.device) * sig[0]
    n = x.shape[0]
    bshape = (n,) + (1,) * (x.ndim - 1)
    h = torch.full((n,), o.step_scale if o.step_scale is not None else 1.0, dtype=dtype)

    def grad_log(v, s, var):
        with torch.no_grad():
            x0 = prior.x0(v, s)
        g = (x0 - v) / s ** 2 - A.apply_adjoint(A.apply(v) - yr) / var
        return g.real if g.is_complex() else g

    def log_pi(v, s, var):
        return prior.log_prob(v, s).to(dtype) - flat_sq(A.apply(v) - yr) / (2 * var)

    accepted, moves = 0.0, 0
    last_acc = []
    for k in progress_range(len(sig), progress, "annealed_langevin"):
        s = sig[k]
        var = sy2 + s * s * a2
        L = 1 / s ** 2 + a2 / var
        g = grad_log(x, s, var)
        lp = log_pi(x, s, var) if mh else None
        last = k == len(sig) - 1
        n_steps = int(o.inner) + (int(o.final_steps) if last else 0)
        for j in range(n_steps):
            tau = (h / L).reshape(bshape)
            xi = randn(x.shape, x, generator)
            prop = x + tau * g + (2 * tau).sqrt() * xi
            gp = grad_log(prop, s, var)
            if mh:
                lpp = log_pi(prop, s, var)
                fwd = flat_sq(prop - x - tau * g) / (4 * tau.reshape(-1))
                bwd = flat_sq(x - prop - tau * gp) / (4 * tau.reshape(-1))
                log_a = (lpp - lp - bwd + fwd).nan_to_num(nan=-math.inf)
                acc = rand((n,), x, generator).log() < log_a
                x = torch.where(acc.reshape(bshape), prop, x)
                g = torch.where(acc.reshape(bshape), gp, g)
                lp = torch.where(acc, lpp, lp)
                alpha = log_a.clamp(max=0).exp()
                if not (last and j >= int(o.inner)):
                    h = (h * torch.exp(0.5 * (alpha - o.target_accept))).clamp(1e-4, 1e4)
                else:
                    last_acc.append(float(alpha.mean()))
                accepted += float(acc.float().mean())
                moves += 1
            else:
                x, g = prop, gp
        check_finite_step(x, f"annealed_langevin level {k} (sigma={s:.4g})")
    samples = x.reshape(S, B, *A.x_shape)
    mean = samples.mean(0)
    std = samples.std(0) if S > 1 else torch.zeros_like(mean)
    info = {"metropolis": mh, "levels": len(sig), "sigma_last": sig[-1], "h": float(h.mean())}
    if mh:
        info["acceptance"] = accepted / max(moves, 1)
        info["acceptance_final"] = sum(last_acc) / max(len(last_acc), 1)
    return Result(x=mean if S > 1 else samples[0], samples=samples if S > 1 else None, mean=mean if S > 1 else None,
                  std=std if S > 1 else None, nfe=prior.nfe - nfe0, info=info)
