"""Regularisation by denoising (Romano, Elad & Milanfar 2017), gradient form.

Defaults (issue 10). ``lam`` weighs the prior against the data term 1/2 ||A x - y||², relative to
that term's curvature scale: the weight used is ``lam * max(||A||, 1)²`` (CT's ||A|| is 43 at 64² and
86 at 256², so a lam that acts on deblurring would leave CT's start untouched for hundreds of
iterations). The denoiser's level is ``sigma_d = mult * max(sigma_y / max(||A||, 1), 0.01)``, the
measurement noise in image units (as PnP-HQS's last level). ``lam`` and ``mult`` are tables by
operator kind (:func:`~genprior.solvers.map.common.operator_kind`), chosen on twelve validation
images (brick, chelsea, clock, gravel, page, coffee, grass, cell, text, retina, rocket, china; never
the benchmarks') by benchmarks/tuning/tune_red.py: per kind, among the grid points that keep every validation image at or
above ``mle`` the one with the smallest worst loss to each image's best; where no point does
(downsampling, Fourier sampling: at best -0.07 / -0.03 dB on one image) the smallest worst loss
within 0.05 dB of the largest worst gain over ``mle``. The grid grows while a pick sits on its edge.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._checks import SIGMA_FLOOR, check_finite_step, check_nonneg
from ...priors.base import require
from ..base import Result, progress_range, register
from .common import KIND_DEFAULTS, ResidualHistory, by_kind, smooth_init
from .pnp import default_denoiser

#: lam by operator kind (tune_red.json); the former constant 0.05 for kinds not tuned.
LAM_DEFAULT = {"identity": 3.0, "blur_symmetric": 0.1, "blur": 0.1, "downsampling": 0.001, "box_inpainting": 0.3,
               "scattered_inpainting": 0.03, "random_projection": 0.03, "tomography": 0.03,
               "fourier_sampling": 0.01, "default": 0.05}
#: sigma_d = mult * max(sigma_y / max(||A||, 1), 0.01) by operator kind (tune_red.json); the former 2 otherwise.
SIGMA_D_MULT = {"identity": 0.5, "blur_symmetric": 2.0, "blur": 2.0, "downsampling": 4.0, "box_inpainting": 4.0,
                "scattered_inpainting": 2.0, "random_projection": 2.0, "tomography": 1.0,
                "fourier_sampling": 8.0, "default": 2.0}


@dataclass
class REDOptions:
    lam: float | None = None      # None: LAM_DEFAULT by operator kind; the weight used is lam * max(||A||, 1)²
    sigma_d: float | None = None  # None: SIGMA_D_MULT[kind] * max(sigma_y / max(||A||, 1), 0.01)
    max_iter: int = 200
    tol: float = 1e-5
    x_init: torch.Tensor | None = None


def red_sigma_d(problem, sigma_d: float | None = None) -> float:
    """``sigma_d``, else the by-kind default above."""
    if sigma_d is not None:
        return check_nonneg(sigma_d, "sigma_d")
    scale = max(problem.operator.norm(), 1.0)
    return by_kind(SIGMA_D_MULT, problem) * max(max(problem.sigma_y, SIGMA_FLOOR) / scale, 0.01)


@register("red", REDOptions)
def red(problem, y, prior, o: REDOptions, generator, progress):
    """Regularisation by denoising (Romano et al. 2017), gradient form:
    x <- x - mu (A^T (A x - y) + w (x - D(x, sigma_d))), w = lam max(||A||, 1)², mu = 1 / (||A||² + w)."""
    den = prior if prior is not None else default_denoiser()
    require(den, "denoise", by="red")
    A, data = problem.operator, problem.data
    sd = red_sigma_d(problem, o.sigma_d)
    lam = check_nonneg(o.lam if o.lam is not None else by_kind(LAM_DEFAULT, problem), "lam")
    w = lam * max(A.norm(), 1.0) ** 2
    mu = 1.0 / (A.norm() ** 2 + w)
    x = smooth_init(problem, y, o.x_init)
    residual = ResidualHistory(problem, y)
    k = 0
    for k in progress_range(o.max_iter, progress, "red"):
        g = data.grad(x, y) + w * (x - den.denoise(x, sd))
        x_new = check_finite_step(x - mu * g, f"red iteration {k}")
        rel = float((x_new - x).norm() / x_new.norm().clamp_min(1e-12))
        x = x_new
        residual(x)
        if rel < o.tol:
            break
    return Result(x=x, history={"residual": list(residual)},
                  info={"lam": lam, "weight": w, "sigma_d": sd, "iters": k + 1, "denoiser": type(den).__name__})


KIND_DEFAULTS["red"] = {"lam": LAM_DEFAULT, "sigma_d": lambda o, problem: red_sigma_d(problem)}
