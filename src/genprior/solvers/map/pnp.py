"""Plug-and-play: a denoiser in place of a proximal map, in half-quadratic splitting (DPIR, Zhang et
al. 2021) or ADMM (Venkatakrishnan et al. 2013)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..._checks import SIGMA_FLOOR, check_finite_step, check_positive
from ...priors.base import require
from ..base import Result, progress_range, register
from .admm import ADMM
from .common import ResidualHistory, kind_entry, smooth_init


def default_denoiser():
    """BM3D when the optional package is installed, else NL-means."""
    from ...priors import load
    try:
        return load("bm3d")
    except ImportError:
        return load("nlm")


@dataclass
class PnPHQSOptions:
    lam: float = 0.23             # DPIR's lambda
    iters: int = 8
    sigma_start: float = 49 / 255
    sigma_end: float | None = None   # default: sigma_y / max(||A||, 1), sigma_y in image units
    x_init: torch.Tensor | None = None

    def __post_init__(self):
        if self.iters < 1:
            raise ValueError(f"pnp_hqs: iters must be >= 1, got {self.iters}")
        for name in ("lam", "sigma_start") + (("sigma_end",) if self.sigma_end is not None else ()):
            check_positive(getattr(self, name), f"pnp_hqs: {name}")


def dpir_sigmas(problem, sy: float, sigma_start: float, sigma_end: float | None, iters: int) -> list[float]:
    """DPIR's denoiser levels: ``iters`` values log-spaced from ``sigma_start`` down to ``sigma_end``
    (default sigma_y / max(||A||, 1); see :func:`hqs`). Shared by PnP-HQS and annealed PnP-ADMM."""
    s_end = sigma_end if sigma_end is not None else sy / max(problem.operator.norm(), 1.0)
    return torch.logspace(math.log10(max(sigma_start, s_end)), math.log10(s_end), iters).tolist()


def hqs(problem, y, denoiser, o: PnPHQSOptions, progress, name: str = "pnp_hqs") -> Result:
    """DPIR (Zhang et al. 2021): sigma_k log-spaced from sigma_start to sigma_end;
    x_k = argmin 1/2||A x - y||² + alpha_k/2 ||x - z_{k-1}||², alpha_k = lam sigma_y² / sigma_k²;
    z_k = D(x_k, sigma_k).

    DPIR ends at sigma_end = sigma_y for operators with ||A|| ~ 1 (blur, inpainting, masked
    Fourier). The default divides by ||A|| where it exceeds 1: y / ||A|| = (A / ||A||) x + n / ||A||
    is the same problem with a norm-1 operator and noise sigma_y / ||A|| (CT's Radon transform,
    ||A|| ~ 43 at 64², would otherwise end on a denoiser 43x too strong: 2-5 dB below ``mle``);
    alpha_k is unchanged by that rescaling."""
    data = problem.data
    sy = max(problem.sigma_y, SIGMA_FLOOR)
    sigmas = dpir_sigmas(problem, sy, o.sigma_start, o.sigma_end, o.iters)
    z = smooth_init(problem, y, o.x_init)
    residual = ResidualHistory(problem, y)
    for k in progress_range(o.iters, progress, name):
        alpha = o.lam * sy ** 2 / sigmas[k] ** 2
        x = data.prox(z, y, 1.0 / alpha, x0=z, max_iter=30, warn=False)
        z = check_finite_step(denoiser.denoise(x, sigmas[k]), f"{name} iteration {k}")
        residual(z)
    return Result(x=z, history={"residual": list(residual), "sigma": sigmas},
                  info={"denoiser": type(denoiser).__name__})


@register("pnp_hqs", PnPHQSOptions)
def pnp_hqs(problem, y, prior, o: PnPHQSOptions, generator, progress):
    """Plug-and-play half-quadratic splitting with any denoiser (DPIR schedule)."""
    den = prior if prior is not None else default_denoiser()
    require(den, "denoise", by="pnp_hqs")
    return hqs(problem, y, den, o, progress)


#: PnP-ADMM's denoiser schedule by operator kind (:func:`~genprior.solvers.map.common.operator_kind`):
#: per kind, the schedule with the smaller worst loss to the other on validation images (brick, chelsea,
#: clock, gravel, page, coffee at 64², never the benchmark's; benchmarks/tuning/tune_pnp_admm_schedule.json).
ADMM_SCHEDULE = {"fourier_sampling": "annealed", "downsampling": "annealed", "tomography": "annealed",
                 "blur_symmetric": "annealed", "default": "fixed"}
ADMM_SCHEDULES = ("fixed", "annealed")


@dataclass
class PnPADMMOptions:
    sigma_d: float | None = None   # fixed schedule: denoiser strength; default max(sigma_y, 0.08)
    rho: float | None = None       # fixed schedule: default sigma_y² / sigma_d²
    max_iter: int = 50
    min_iter: int = 10
    tol: float = 1e-4
    x_init: torch.Tensor | None = None
    schedule: str | None = None    # "fixed" | "annealed"; None: ADMM_SCHEDULE by operator kind ("fixed" if sigma_d/rho given)
    lam: float = 0.23              # annealed: rho_k = lam sigma_y² / sigma_k² (DPIR's lambda)
    iters: int = 8                 # annealed: number of levels sigma_k
    sigma_start: float = 49 / 255  # annealed: first level
    sigma_end: float | None = None  # annealed: last level; default sigma_y / max(||A||, 1) (as pnp_hqs)

    def __post_init__(self):
        for name in ("sigma_d", "rho", "sigma_end"):
            if getattr(self, name) is not None:
                check_positive(getattr(self, name), f"pnp_admm: {name}")
        for name in ("lam", "sigma_start"):
            check_positive(getattr(self, name), f"pnp_admm: {name}")
        if self.max_iter < 1 or self.min_iter < 0:
            raise ValueError(f"pnp_admm: max_iter must be >= 1 and min_iter >= 0, got {self.max_iter}, {self.min_iter}")
        if self.iters < 1:
            raise ValueError(f"pnp_admm: iters must be >= 1, got {self.iters}")
        if self.schedule is not None and self.schedule not in ADMM_SCHEDULES:
            raise ValueError(f"pnp_admm: schedule must be one of {', '.join(ADMM_SCHEDULES)} or None, got {self.schedule!r}")
        if self.schedule == "annealed" and (self.sigma_d is not None or self.rho is not None):
            raise ValueError("pnp_admm: sigma_d and rho set the fixed schedule; the annealed one uses sigma_start, "
                             "sigma_end, lam and iters")
        check_positive(self.tol, "pnp_admm: tol")


def admm_schedule(problem, o: PnPADMMOptions) -> str:
    """``o.schedule``, else "fixed" when sigma_d or rho is given, else :data:`ADMM_SCHEDULE` by kind."""
    if o.schedule is not None:
        return o.schedule
    if o.sigma_d is not None or o.rho is not None:
        return "fixed"
    return kind_entry(ADMM_SCHEDULE, problem)


@register("pnp_admm", PnPADMMOptions)
def pnp_admm(problem, y, prior, o: PnPADMMOptions, generator, progress):
    """Plug-and-play ADMM (Venkatakrishnan et al. 2013): x = prox_l2(z - u, y, 1/rho),
    z = D(x + u, sigma_d), u += x - z.

    Two schedules of the denoiser level (``schedule``; default by operator kind, :data:`ADMM_SCHEDULE`):

    * ``"fixed"``: sigma_d (default max(sigma_y, 0.08)), rho = sigma_y² / sigma_d², iterated to
      ``tol`` (at most ``max_iter``);
    * ``"annealed"``: sigma_k log-spaced from ``sigma_start`` to sigma_y / max(||A||, 1) over ``iters``
      steps with rho_k = lam sigma_y² / sigma_k² (DPIR's schedule, Zhang et al. 2021, on ADMM; the
      increasing-rho PnP-ADMM of Chan, Wang & Elgendy 2017), the scaled dual rescaled
      u <- u rho_{k-1} / rho_k when rho changes (Boyd et al. 2011, 3.4.1).

    Why both (issue 10): at the fixed schedule's fixed point the denoiser must leave the unmeasured
    components unchanged, so what survives there is what NL-means at sigma_d = 8 sigma_y keeps; on
    Cartesian MRI (coins 64²) that error in the unmeasured frequencies (10.0) exceeded the zero-filled
    one (7.7, = the true energy there): 2.2 dB below ``mle``. Annealing ends on a weak denoiser; it is
    better on MRI, SR, CT and Gaussian blur, worse on inpainting, CS, motion blur and denoising."""
    den = prior if prior is not None else default_denoiser()
    require(den, "denoise", by="pnp_admm")
    schedule = admm_schedule(problem, o)
    if schedule == "annealed":
        return _annealed_admm(problem, y, den, o, progress)
    data = problem.data
    sy = max(problem.sigma_y, SIGMA_FLOOR)
    sd = o.sigma_d if o.sigma_d is not None else max(sy, 0.08)
    rho = o.rho if o.rho is not None else sy ** 2 / sd ** 2
    residual = ResidualHistory(problem, y)
    alg = ADMM(lambda v, r, xp: data.prox(v, y, 1.0 / r, x0=xp, max_iter=30, warn=False), lambda w, g: den.denoise(w, sd), rho)
    s = alg.run(smooth_init(problem, y, o.x_init), tol=o.tol,
                iterator=progress_range(o.max_iter, progress, "pnp_admm"), callback=lambda s: residual(s.z),
                min_iter=o.min_iter)
    hist = dict(s.history)
    hist["residual"] = list(residual)
    return Result(x=s.z, history=hist, info={"schedule": "fixed", "sigma_d": sd, "rho": rho,
                                             "denoiser": type(den).__name__, "iters": s.k})


def _annealed_admm(problem, y, den, o: PnPADMMOptions, progress) -> Result:
    """PnP-ADMM with the DPIR schedule (see :func:`pnp_admm`)."""
    data = problem.data
    sy = max(problem.sigma_y, SIGMA_FLOOR)
    sigmas = dpir_sigmas(problem, sy, o.sigma_start, o.sigma_end, o.iters)
    x = smooth_init(problem, y, o.x_init)
    z, u = x.clone(), torch.zeros_like(x)
    residual = ResidualHistory(problem, y)
    rhos = []
    for k in progress_range(o.iters, progress, "pnp_admm"):
        rho = o.lam * sy ** 2 / sigmas[k] ** 2
        if rhos:
            u = u * (rhos[-1] / rho)
        rhos.append(rho)
        x = check_finite_step(data.prox(z - u, y, 1.0 / rho, x0=x, max_iter=30, warn=False),
                              f"pnp_admm iteration {k} (x-update)")
        z = check_finite_step(den.denoise(x + u, sigmas[k]), f"pnp_admm iteration {k}")
        u = u + x - z
        residual(z)
    return Result(x=z, history={"residual": list(residual), "sigma": sigmas, "rho": rhos},
                  info={"schedule": "annealed", "sigma_d": sigmas[-1], "rho": rhos[-1], "lam": o.lam,
                        "denoiser": type(den).__name__, "iters": o.iters})
