"""PnP-DM (Wu, Sun, Chen, Zhang, Yue, Bouman 2024, "Principled probabilistic imaging using diffusion
models as plug-and-play priors"; reference ``zihuiwu/PnP-DM-public``, ``pnp_edm.py``).

Split Gibbs sampling of pi(x, z) ∝ p(x) N(z; x, rho² I) N(y; A z, sigma_y² I):
    z-step  z ~ p(z | x, y) = N(C (Aᵀy/sigma_y² + x/rho²), C),  C = (AᵀA/sigma_y² + I/rho²)⁻¹
            (closed form in A's SVD basis when it has one; else perturb-and-solve: CG on
            C⁻¹ z = Aᵀ(y + sigma_y xi1)/sigma_y² + (x + rho xi2)/rho², an exact draw at convergence);
    x-step  x ~ p(x | z) ∝ p(x) N(z; x, rho²): the prior's reverse diffusion started at level rho from
            x_rho = z (DDPM ancestral steps on an EDM grid from rho to 0),
with rho_k = max(rho0 d^k, rho_min) (reference rho0 = 10, d = 0.9, rho_min = 0.3 on [-1, 1], i.e.
10 and 0.3 data standard deviations: the defaults here are rho0 = 10 data_std, rho_min = 0.3 data_std).
At a fixed rho the x-marginal is p(x) N(y; A x, sigma_y² I + rho² AAᵀ): exact as rho_min -> 0 (and
inner steps -> infinity); ``num_samples`` chains run as one batch, each returns its last state.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._checks import check_finite_step, check_positive
from ...linalg import cg
from ..base import Result, progress_range, register
from ..latent.common import randn, repeat_batch, sigma_of
from ..smc.particles import kernel, tweedie_var


@dataclass(kw_only=True)
class PnPDMOptions:
    """``iterations`` Gibbs sweeps (reference 100); ``steps`` reverse-diffusion steps per x-step
    (reference EDM 100; ``kernel_var`` see :func:`x_step`); ``rho0``/``rho_min`` on the prior's image scale (None: 10 and 0.3
    data_std), ``decay`` d; ``num_samples`` parallel chains; ``cg_iters``/``cg_tol`` for operators
    without an SVD."""
    iterations: int = 100
    steps: int = 100
    rho0: float | None = None
    rho_min: float | None = None
    decay: float = 0.9
    num_samples: int = 1
    cg_iters: int = 100
    cg_tol: float = 1e-8
    kernel_var: str = "tweedie"

    def __post_init__(self):
        if self.kernel_var not in ("tweedie", "ddpm"):
            raise ValueError(f"kernel_var must be 'tweedie' or 'ddpm', got {self.kernel_var!r}")
        for name in ("iterations", "steps", "num_samples", "cg_iters"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("rho0", "rho_min"):
            if getattr(self, name) is not None:
                check_positive(getattr(self, name), name)
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {self.decay}")


def z_step(A, y, x, rho: float, sy: float, generator, cg_iters=100, cg_tol=1e-8):
    """One exact draw of z ~ N(C (Aᵀy/sy² + x/rho²), C), C = (AᵀA/sy² + I/rho²)⁻¹."""
    if getattr(A, "has_svd", False):
        ut = A.U_adjoint(y)                               # (U^T y)_i on the support of s
        xb = A.V_adjoint(x)
        s = A.singulars(xb.real if xb.is_complex() else xb)
        prec = s * s / sy ** 2 + 1 / rho ** 2
        mean = (s * ut / sy ** 2 + xb / rho ** 2) / prec
        zb = A.V_adjoint(randn(x.shape, x, generator))
        z = A.V(mean + zb / prec.sqrt())
        return z.real if z.is_complex() else z
    xi1 = randn(y.shape, y.real, generator)
    if y.is_complex():
        xi1 = torch.complex(xi1, randn(y.shape, y.real, generator))
    b = A.apply_adjoint(y + sy * xi1)
    b = (b.real if b.is_complex() else b) / sy ** 2 + (x + rho * randn(x.shape, x, generator)) / rho ** 2

    def M(v):
        w = A.apply_adjoint(A.apply(v))
        return (w.real if w.is_complex() else w) / sy ** 2 + v / rho ** 2
    return cg(M, b, x, tol=cg_tol, max_iter=cg_iters).x


def x_step(prior, z, rho: float, steps: int, generator, kernel_var: str = "tweedie"):
    """x ~ p(x | x_rho = z): DDPM ancestral steps from rho to 0 on an EDM grid; ``kernel_var``
    "tweedie" adds Tweedie's covariance to each step's variance (:func:`..smc.particles.kernel`;
    one more network call per step), "ddpm" is the plain step (variance short by O(1/steps))."""
    sig = prior.sigmas(int(steps), "edm", sigma_max=float(rho), sigma_min=min(prior.sigma_min, 0.5 * float(rho)))
    sig = sig.to(z.dtype)
    x = z
    for i in range(len(sig) - 1):
        x0 = prior.x0(x, sig[i])
        gam = tweedie_var(prior, x, x0, sig[i], generator) if kernel_var == "tweedie" else None
        m, c = kernel(x, x0, sig[i], sig[i + 1], 1.0, gam)
        if gam is None and float(sig[i + 1]) == 0:
            x = x0
        else:
            x = m + c * randn(x.shape, x, generator)
    return x


@register("pnp_dm", PnPDMOptions, needs=("x0",))
def pnp_dm(problem, y, prior, o: PnPDMOptions, generator, progress):
    """PnP-DM split Gibbs: z ~ p(z | x, y) exactly (SVD or CG), x ~ p(x | x_rho = z) by a reverse
    diffusion from rho_k = max(rho0 d^k, rho_min). Any linear operator (sigma_y floored)."""
    A = problem.operator
    sy = sigma_of(problem)
    B, S = y.shape[0], int(o.num_samples)
    dstd = float(getattr(prior, "data_std", 0.5))
    rho0 = o.rho0 if o.rho0 is not None else 10 * dstd
    rho_min = o.rho_min if o.rho_min is not None else 0.3 * dstd
    nfe0 = prior.nfe
    yr = repeat_batch(y, S)
    x = torch.zeros((S * B, *A.x_shape), dtype=y.real.dtype, device=y.device)
    rhos = []
    for k in progress_range(int(o.iterations), progress, "pnp_dm"):
        rho = max(rho0 * o.decay ** k, rho_min)
        rhos.append(rho)
        z = z_step(A, yr, x, rho, sy, generator, o.cg_iters, o.cg_tol)
        with torch.no_grad():
            x = x_step(prior, z, rho, o.steps, generator, o.kernel_var)
        check_finite_step(x, f"pnp_dm iteration {k} (rho={rho:.4g})")
    samples = x.reshape(S, B, *A.x_shape)
    mean = samples.mean(0)
    std = samples.std(0) if S > 1 else torch.zeros_like(mean)
    return Result(x=mean if S > 1 else samples[0], samples=samples if S > 1 else None, mean=mean if S > 1 else None,
                  std=std if S > 1 else None, nfe=prior.nfe - nfe0,
                  history={"rho": rhos}, info={"rho_final": rhos[-1], "chains": S, "sigma_y": sy})
