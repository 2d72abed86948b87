"""CSGM: compressed sensing with a generative model (Bora, Jalal, Price & Dimakis 2017), as a
Gaussian-latent MAP.

    z* = argmin_z  1/(2 σ_y²) ||A G(z) - y||² + z_weight/2 ||z||²,     x* = G(z*).

z_weight = 1 is the MAP of z ~ N(0, I) under y = A G(z) + N(0, σ_y² I); z_weight = 0 is plain CSGM.

Relation to Bora et al.'s λ: their loss per example is (1/m)||A G(z) - y||² + λ||z||² (a *mean*
over the m measurements). Multiplying it by m/(2σ_y²) does not move the minimiser and gives
1/(2σ_y²)||A G(z) - y||² + (m λ / (2σ_y²)) ||z||², so

    z_weight = 2 · m λ / (2 σ_y²) = m λ / σ_y²,        λ = z_weight σ_y² / m.

Their λ = 0.1 with σ_y = 0.1 at m = 100 is z_weight = 1000, i.e. ~1000× the MAP weight (λ_MAP =
σ_y²/m = 1e-4). (Their A has N(0, 1) entries and ours N(0, 1/m); the relation holds for any A as
long as σ_y is the noise std of the y actually given.)

Batching: R ``restarts`` per measurement and B measurements give R·B independent latents,
optimised together with one ``generate`` call per objective evaluation; every measurement has its
own latents and keeps its best restart by objective.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._checks import check_nonneg
from ...priors.base import require
from ..base import Result, progress_range, register
from .common import check_optimizer_options, flat_sq, minimize, randn, repeat_batch, sigma_of, smooth_inverse

DEFAULT_LR = {"adam": 0.01, "lbfgs": 1.0}


@dataclass(kw_only=True)
class CSGMOptions:
    """``optimizer``: adam (Bora et al.: lr 0.01) or lbfgs (per-latent L-BFGS, Armijo backtracking
    from the trial step lr = 1); ``lr`` None picks that default; ``lr_decay``: Adam's step decays
    geometrically to lr · lr_decay at max_iter (1 = constant, as Bora et al.). ``restarts``: R
    latents per measurement.
    ``init``: random (z ~ N(0, I) from the generator), zero, or encode (the prior's encoder applied
    to the smooth inverse of y clamped to [0, 1]; needs ``encode``); with zero/encode/``z_init``
    (B, *latent_shape) the first restart starts there and the others at random.
    Stops after ``max_iter`` iterations or when no objective changes by more than ``tol`` (relative)."""
    z_weight: float = 1.0
    optimizer: str = "adam"
    lr: float | None = None
    lr_decay: float = 1.0
    max_iter: int = 1000
    tol: float = 1e-7
    restarts: int = 1
    init: str = "random"
    z_init: torch.Tensor | None = None

    def __post_init__(self):
        check_nonneg(self.z_weight, "z_weight")
        check_optimizer_options(self)


def latent_dtype(prior, like: torch.Tensor):
    d = getattr(prior, "dtype", None)
    return d if isinstance(d, torch.dtype) else like.dtype


def initial_latents(problem, y, prior, init: str, R: int, z_init, generator, by: str) -> torch.Tensor:
    """(R B, *latent_shape) restart-major; restart 0 from ``init``/``z_init``, the rest N(0, I)."""
    B = y.shape[0]
    like = torch.empty(0, dtype=latent_dtype(prior, y.real), device=y.device)
    lshape = tuple(prior.latent_shape)
    z = randn((R * B, *lshape), like, generator)
    if z_init is not None:
        if tuple(z_init.shape) != (B, *lshape):
            raise ValueError(f"z_init has shape {tuple(z_init.shape)}; expected ({B}, {', '.join(map(str, lshape))})")
        z[:B] = z_init.to(z)
    elif init == "zero":
        z[:B] = 0
    elif init == "encode":
        require(prior, "encode", by=f"{by} with init='encode'")
        x0 = smooth_inverse(problem, y).clamp(0, 1)
        z[:B] = prior.encode(x0.to(like.dtype)).reshape(B, *lshape).to(z)
    return z


def latent_objective(problem, y_rep, prior, weight: float, sigma: float, logdet: bool = False):
    """fg(z) -> (f, ∇f) for f(z) = 1/(2σ²)||A G(z) - y||² + weight/2 ||z||² (+ log|det ∂G/∂z|)."""
    A = problem.operator
    rdtype = y_rep.real.dtype

    def fg(z):
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            if logdet:
                x, ld = prior.generate(z, return_logdet=True)
            else:
                x, ld = prior.generate(z), 0
            f = flat_sq(A.apply(x.to(rdtype)) - y_rep) / (2 * sigma ** 2) + 0.5 * weight * flat_sq(z).to(rdtype) + ld
            g, = torch.autograd.grad(f.sum(), z)
        return f.detach(), g
    return fg


def pick_restarts(z, f, B: int, R: int):
    """Best restart per measurement: z (R B, ...), f (R B,) -> z (B, ...), f (B,), index (B,)."""
    fr = f.reshape(R, B)
    idx = fr.argmin(0)
    zb = z.reshape(R, B, *z.shape[1:])[idx, torch.arange(B, device=z.device)]
    return zb, fr[idx, torch.arange(B, device=f.device)], idx


def run_latent_map(problem, y, prior, *, weight, optimizer, lr, lr_decay, max_iter, tol, restarts, init, z_init,
                   generator, progress, name, logdet=False):
    B, R = y.shape[0], int(restarts)
    sigma = sigma_of(problem)
    nfe0 = getattr(prior, "nfe", 0)
    z0 = initial_latents(problem, y, prior, init, R, z_init, generator, name)
    fg = latent_objective(problem, repeat_batch(y, R), prior, weight, sigma, logdet)
    lr = lr if lr is not None else DEFAULT_LR[optimizer]
    z, f, iters, hist = minimize(fg, z0, optimizer=optimizer, lr=lr, lr_decay=lr_decay, max_iter=int(max_iter),
                                 tol=tol, name=name, iterator=progress_range(int(max_iter), progress, name))
    zb, fb, idx = pick_restarts(z, f, B, R)
    x = prior.generate(zb).to(y.real.dtype)
    info = {"objective": fb.tolist(), "restart": idx.tolist(), "iterations": iters, "z": zb, "sigma": sigma,
            "optimizer": optimizer, "lr": lr, "restarts": R, "init": "z_init" if z_init is not None else init}
    return Result(x=x, nfe=getattr(prior, "nfe", 0) - nfe0, history=hist, info=info)


@register("csgm", CSGMOptions, needs=("generate",))
def csgm(problem, y, prior, o: CSGMOptions, generator, progress):
    """CSGM latent MAP (Bora et al. 2017): z* = argmin 1/(2σ_y²)||A G(z) - y||² + z_weight/2 ||z||²
    by Adam or L-BFGS over R restarts per measurement (best kept per measurement); x = G(z*).
    z_weight = m λ / σ_y² for Bora's λ on a mean data term."""
    res = run_latent_map(problem, y, prior, weight=o.z_weight, optimizer=o.optimizer, lr=o.lr, lr_decay=o.lr_decay,
                         max_iter=o.max_iter, tol=o.tol, restarts=o.restarts, init=o.init, z_init=o.z_init,
                         generator=generator, progress=progress, name="csgm")
    res.info["z_weight"] = o.z_weight
    return res
