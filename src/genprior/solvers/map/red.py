"""Regularisation by denoising (Romano, Elad & Milanfar 2017), gradient form."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._checks import SIGMA_FLOOR, check_finite_step, check_nonneg
from ...priors.base import require
from ..base import Result, progress_range, register
from .common import ResidualHistory, smooth_init
from .pnp import default_denoiser


@dataclass
class REDOptions:
    lam: float = 0.05
    sigma_d: float | None = None  # default 2 sigma_y (at least 0.02)
    max_iter: int = 200
    tol: float = 1e-5
    x_init: torch.Tensor | None = None


@register("red", REDOptions)
def red(problem, y, prior, o: REDOptions, generator, progress):
    """Regularisation by denoising (Romano et al. 2017), gradient form:
    x <- x - mu (A^T (A x - y) + lam (x - D(x, sigma_d))), mu = 1 / (||A||² + lam)."""
    den = prior if prior is not None else default_denoiser()
    require(den, "denoise", by="red")
    A, data = problem.operator, problem.data
    sy = max(problem.sigma_y, SIGMA_FLOOR)
    sd = o.sigma_d if o.sigma_d is not None else max(2 * sy, 0.02)
    lam = check_nonneg(o.lam, "lam")
    mu = 1.0 / (A.norm() ** 2 + lam)
    x = smooth_init(problem, y, o.x_init)
    residual = ResidualHistory(problem, y)
    k = 0
    for k in progress_range(o.max_iter, progress, "red"):
        g = data.grad(x, y) + lam * (x - den.denoise(x, sd))
        x_new = check_finite_step(x - mu * g, f"red iteration {k}")
        rel = float((x_new - x).norm() / x_new.norm().clamp_min(1e-12))
        x = x_new
        residual(x)
        if rel < o.tol:
            break
    return Result(x=x, history={"residual": list(residual)},
                  info={"lam": lam, "sigma_d": sd, "iters": k + 1, "denoiser": type(den).__name__})
