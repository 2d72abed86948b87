"""DDRM (Kawar et al. 2022): denoising diffusion restoration in the operator's SVD basis.

With x̄ = V^T x, ȳ = S^{-1} U^T y and s_i the singular values, each coordinate moves from level
sigma to sigma' as (Kawar et al. 2022, eq. 7-8):
  s_i = 0:                    x̄'_i = x̄0_i + sqrt(1-eta²) sigma' (x̄_i - x̄0_i)/sigma + eta sigma' z_i
  sigma' <  sigma_y / s_i:    x̄'_i = x̄0_i + sqrt(1-eta²) sigma' (ȳ_i - x̄0_i) s_i/sigma_y + eta sigma' z_i
  sigma' >= sigma_y / s_i:    x̄'_i = (1-eta_b) x̄0_i + eta_b ȳ_i + sqrt(sigma'² - eta_b² sigma_y²/s_i²) z_i
Noise z = V^T (white image noise), so complex (Fourier) bases stay Hermitian and V maps back to
real images. It starts where DiffPIR does (:func:`.diffpir.start_sigma`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._checks import check_finite_step
from ..base import progress_range, register
from .diffpir import start_sigma
from .loop import NEEDS, DiffusionOptions, setup, sigmas_for


@dataclass(kw_only=True)
class DDRMOptions(DiffusionOptions):
    steps: int = 20
    eta: float = 0.85
    eta_b: float = 1.0


def ddrm(prior, problem, y, sigmas, *, eta: float = 0.85, eta_b: float = 1.0, num_samples: int = 1, generator=None,
         progress=False):
    A = problem.operator
    if not getattr(A, "has_svd", False):
        raise TypeError(f"method 'ddrm' needs an operator with an SVD (has_svd); {type(A).__name__} has none")
    run = setup(prior, problem, y, sigmas, num_samples, generator)
    sigmas, x = run.sigmas, run.x
    sy = problem.sigma_y
    ut = A.U_adjoint(run.yb)
    sv = A.singulars(ut.real if ut.is_complex() else ut)
    # singular values below ~100 eps of the largest are rounding noise (a Gaussian blur's spectrum falls
    # to 1e-9 at 64², below float32 resolution): their coordinates carry no information and are treated
    # as the null space; keeping them blew float32 runs up (tests/solvers/diffusion/test_ddrm.py)
    pos = sv > 100 * torch.finfo(sv.dtype).eps * sv.max()
    ybar = torch.where(pos, ut / torch.where(pos, sv, torch.ones_like(sv)), torch.zeros_like(ut))
    sy_over_s = torch.where(pos, sy / torch.where(pos, sv, torch.ones_like(sv)), torch.full_like(sv, float("inf")))
    for i in progress_range(len(sigmas) - 1, progress, "ddrm"):
        s, s_next = sigmas[i], sigmas[i + 1]
        with torch.no_grad():
            x0 = prior.x0(x, s)
        xb, x0b = A.V_adjoint(x), A.V_adjoint(x0)
        z = A.V_adjoint(torch.randn(x.shape, generator=generator, dtype=run.dtype, device=x.device))
        c = (1 - eta ** 2) ** 0.5 * s_next
        null = x0b + c * (xb - x0b) / s + eta * s_next * z
        small = x0b + c * (ybar - x0b) / torch.where(pos & (sy_over_s > 0), sy_over_s, torch.ones_like(sv)) \
            + eta * s_next * z
        big = (1 - eta_b) * x0b + eta_b * ybar + torch.sqrt((s_next ** 2 - eta_b ** 2 * sy_over_s.clamp(max=1e30) ** 2)
                                                            .clamp_min(0)) * z
        new = torch.where(~pos, null, torch.where(s_next < sy_over_s, small, big))
        x = A.V(new)
        check_finite_step(x, f"ddrm step {i} (sigma={float(s):.4g})")
    return run.finish(x, prior)


@register("ddrm", DDRMOptions, needs=NEEDS)
def ddrm_method(problem, y, prior, o: DDRMOptions, generator, progress):
    """DDRM (Kawar et al. 2022) in the operator's SVD basis (needs ``has_svd``)."""
    return ddrm(prior, problem, y, sigmas_for(prior, o, start_sigma(prior)), eta=o.eta, eta_b=o.eta_b,
                num_samples=int(o.num_samples), generator=generator, progress=progress)
