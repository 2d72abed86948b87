"""Langevin posterior sampling for priors with a potential V = -log p + const (EBMs, flows,
analytic energies), on the posterior potential

    U(x) = 1/(2σ_y²)||A x - y||² + V(x),      ∇U(x) = Aᵀ(A x - y)/σ_y² + ∇V(x).

ULA (unadjusted Langevin; Roberts & Tweedie 1996, Durmus & Moulines 2017):
    x_{k+1} = x_k - τ ∇U(x_k) + √(2τ) ξ_k,   ξ_k ~ N(0, I);
biased by O(τ): for a Gaussian target of precision P its stationary covariance is
(P (I - τ P / 2))⁻¹ (exact mean).

MALA (Metropolis-adjusted; Roberts & Tweedie 1996): the same proposal x', accepted with probability
min(1, exp(U(x) - U(x') - |x - x' + τ∇U(x')|²/(4τ) + |x' - x + τ∇U(x)|²/(4τ))) — exact target.

Step: τ = step_scale / (L_V + ||A||²/σ_y²), the bound of Durmus & Moulines with L_V the prior's
``lipschitz`` when stated, else a power-iteration estimate of ∇²V at the start (finite-difference
Hessian-vector products). MALA by default adapts each chain's τ during burn-in towards the
acceptance rate 0.574 (Roberts & Rosenthal 1998) and keeps it fixed afterwards.

All chains (``chains`` per measurement × B measurements) run as one batch; the draws after
``burn_in``, every ``thin``-th, are kept.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..._checks import check_finite_step, check_nonneg, check_positive
from ..base import Result, progress_range, register
from ..latent.common import flat_sq, grad_of, lipschitz_estimate, rand, randn, repeat_batch, sigma_of, smooth_inverse

ALGORITHMS = ("ula", "mala")
DEFAULT_STEP_SCALE = {"ula": 0.2, "mala": 1.0}


@dataclass(kw_only=True)
class LangevinOptions:
    """``algorithm``: ula | mala. ``step``: τ directly; else τ = ``step_scale`` / (L_V + ||A||²/σ_y²)
    with step_scale default 0.2 (ULA: stiffest-direction variance bias ≤ 10 %) or 1 (MALA, then
    adapted when ``adapt``). ``num_samples`` draws kept per chain after ``burn_in`` iterations, one
    every ``thin``; ``chains`` per measurement. ``x_init`` (B, C, H, W) default: the smooth inverse
    of y clamped to [0, 1]. ``store_samples=False`` keeps only the running mean and std."""
    algorithm: str = "ula"
    step: float | None = None
    step_scale: float | None = None
    num_samples: int = 100
    burn_in: int = 500
    thin: int = 5
    chains: int = 1
    adapt: bool = True
    target_accept: float = 0.574
    x_init: torch.Tensor | None = None
    store_samples: bool = True

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; known: ula, mala")
        if self.step is not None:
            check_positive(self.step, "step")
        if self.step_scale is not None:
            check_positive(self.step_scale, "step_scale")
        for name in ("num_samples", "thin", "chains"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_nonneg(self.burn_in, "burn_in")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept}")


def prior_potential(prior, need_value: bool, by: str):
    """(V, ∇V) of a prior: ``value``/``grad`` where offered, else from ``log_prob`` (V = -log p,
    ∇V by autograd). Raises naming the capability that is missing."""
    caps = getattr(prior, "capabilities", frozenset())
    if prior is None:
        raise ValueError(f"method {by!r} needs a prior offering grad or log_prob; got prior=None")
    if "grad" in caps:
        grad = grad_of(prior)
    elif "log_prob" in caps:
        def grad(x):
            with torch.enable_grad():
                x = x.detach().requires_grad_(True)
                g, = torch.autograd.grad(-prior.log_prob(x).sum(), x)
            return g
    else:
        raise TypeError(f"method {by!r} needs a prior with grad or log_prob; {type(prior).__name__} offers only "
                        f"{', '.join(sorted(caps)) or 'nothing'}")
    if "value" in caps:
        value = prior.value
    elif "log_prob" in caps:
        def value(x):
            return -prior.log_prob(x)
    elif need_value:
        raise TypeError(f"method {by!r} needs a prior with value or log_prob (for the Metropolis test); "
                        f"{type(prior).__name__} offers only {', '.join(sorted(caps))}")
    else:
        value = None
    return value, grad


@register("langevin", LangevinOptions)
def langevin(problem, y, prior, o: LangevinOptions, generator, progress):
    """Langevin posterior sampling: ULA x' = x - τ∇U(x) + √(2τ)ξ, U = 1/(2σ_y²)||Ax - y||² + V(x);
    MALA adds the Metropolis-Hastings test. τ = step_scale / (L_V + ||A||²/σ_y²). Returns samples
    (num_samples·chains, B, C, H, W), their mean (x) and std; MALA's acceptance rate in info."""
    mala = o.algorithm == "mala"
    V, gradV = prior_potential(prior, mala, "langevin")
    A = problem.operator
    sigma = sigma_of(problem)
    B, K = y.shape[0], int(o.chains)
    rdtype = y.real.dtype
    x0 = o.x_init.to(rdtype) if o.x_init is not None else smooth_inverse(problem, y).clamp(0, 1)
    if tuple(x0.shape) != (B, *A.x_shape):
        raise ValueError(f"x_init has shape {tuple(x0.shape)}; expected ({B}, {', '.join(map(str, A.x_shape))})")
    nfe0 = getattr(prior, "nfe", 0)
    L_V = getattr(prior, "lipschitz", None)
    src = "prior"
    if L_V is None:
        L_V, src = lipschitz_estimate(lambda v: gradV(v).to(rdtype), x0, generator), "estimate"
    L = float(L_V) + A.norm() ** 2 / sigma ** 2
    c = o.step_scale if o.step_scale is not None else DEFAULT_STEP_SCALE[o.algorithm]
    tau0 = o.step if o.step is not None else c / L
    yr = repeat_batch(y, K)                                   # chain-major: element c B + b
    x = repeat_batch(x0, K).clone()
    N = x.shape[0]
    bshape = (N,) + (1,) * (x.ndim - 1)
    tau = torch.full((N,), tau0, dtype=rdtype, device=x.device)

    def U(v):
        return flat_sq(A.apply(v) - yr) / (2 * sigma ** 2) + V(v).to(rdtype)

    def gradU(v):
        return A.apply_adjoint(A.apply(v) - yr).real / sigma ** 2 + gradV(v).to(rdtype)

    g = gradU(x)
    Ux = U(x) if mala else None
    total = int(o.burn_in) + int(o.num_samples) * int(o.thin)
    kept, n_kept = [], 0
    mean = torch.zeros_like(x)
    m2 = torch.zeros_like(x)
    accepted = torch.zeros(N, dtype=rdtype, device=x.device)
    n_after = 0
    for k in progress_range(total, progress, o.algorithm):
        check_finite_step(g, f"langevin ({o.algorithm}) iteration {k} (gradient)")
        xi = randn(x.shape, x, generator)
        prop = x - tau.reshape(bshape) * g + (2 * tau).sqrt().reshape(bshape) * xi
        if mala:
            Up, gp = U(prop), gradU(prop)
            fwd = 0.5 * flat_sq(xi)                                      # |x' - x + τ∇U(x)|²/(4τ)
            bwd = flat_sq(x - prop + tau.reshape(bshape) * gp) / (4 * tau)
            log_alpha = (Ux - Up - bwd + fwd).nan_to_num(nan=-math.inf)
            acc = rand((N,), x, generator).log() < log_alpha
            x = torch.where(acc.reshape(bshape), prop, x)
            g = torch.where(acc.reshape(bshape), gp, g)
            Ux = torch.where(acc, Up, Ux)
            if k < o.burn_in and o.adapt and o.step is None:
                alpha = log_alpha.clamp(max=0).exp()
                tau = tau * torch.exp(0.05 * (alpha - o.target_accept))
            elif k >= o.burn_in:
                accepted += acc.to(rdtype)
                n_after += 1
        else:
            x = prop
            g = gradU(x)
        check_finite_step(x, f"langevin ({o.algorithm}) iteration {k}")
        if k >= o.burn_in and (k - int(o.burn_in) + 1) % int(o.thin) == 0:
            n_kept += 1                                               # Welford per chain
            d = x - mean
            mean = mean + d / n_kept
            m2 = m2 + d * (x - mean)
            if o.store_samples:
                kept.append(x.clone())
    shape = (K, B, *A.x_shape)
    cm, cv = mean.reshape(shape), (m2 / n_kept).reshape(shape)
    post_mean = cm.mean(0)
    post_std = (cv.mean(0) + cm.var(0, unbiased=False)).clamp_min(0).sqrt()
    samples = None
    if kept:
        samples = torch.stack(kept).reshape(n_kept * K, B, *A.x_shape)
    info = {"algorithm": o.algorithm, "step": tau.reshape(K, B).mean(0).tolist(), "L": L, "L_prior": float(L_V),
            "L_prior_source": src, "iterations": total, "chains": K, "sigma": sigma}
    if mala:
        info["acceptance"] = (accepted / max(n_after, 1)).reshape(K, B).mean(0).tolist()
    return Result(x=post_mean, samples=samples, mean=post_mean, std=post_std, nfe=getattr(prior, "nfe", 0) - nfe0,
                  info=info)
