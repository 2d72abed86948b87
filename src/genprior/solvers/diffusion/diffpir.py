"""DiffPIR (Zhu et al. 2023): x0 <- argmin ||y - A x||² + rho_t ||x - x0||², rho_t = lam sigma_y² / s²
(the operator's closed form where it has one, else CG), skipped when s < skip_sigma; then
x' = x0 + s' (sqrt(1 - zeta) eps + sqrt(zeta) z).

zeta's default depends on the operator's kind (:func:`genprior.solvers.map.common.operator_kind`):
ZETA_DEFAULT, read off benchmarks/tuning/tune_diffpir_zeta.json (validation images, both shipped
image priors, 100 steps, lam = 1). lam's default, 0.3 on every tuned kind (LAM_DEFAULT), was then
tuned at those zetas (benchmarks/tuning/tune_diffusion_defaults*.json, issue 10): one constant holds,
within 0.22 dB of each (prior, task)'s best on validation images (best 0.3 on CT, MRI and blur on
both priors; 0.1 on inpainting, SR and CS, flat within 0.1-0.2 dB from 0.03 to 0.3)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..._checks import SIGMA_FLOOR
from ...priors.diffusion import NetworkDiffusionPrior
from ...schedules.samplers import zeta_mixing
from ..base import register
from ..map.common import KIND_DEFAULTS, by_kind
from .dc import DCStep, check_positive_int
from .loop import NEEDS, DiffusionOptions, run_split


def start_sigma(prior) -> float | None:
    """Where methods that lean on the measurement from the first step (DiffPIR, DDRM) start by
    default: 12 sigma_data of an EDM-preconditioned network prior, in [0, 1] units
    (12 sigma_data / scale = 3.0 for sigma_data 0.5 on [-1, 1]), capped at its sigma_max. An EDM
    grid from sigma_max spends most steps above it (validation images:
    benchmarks/tune_diffusion_start_*.json). None (other priors, e.g. the exact Gaussian mixture):
    the prior's own sigma_max."""
    if isinstance(prior, NetworkDiffusionPrior):
        return min(prior.sigma_max, 12.0 * prior.sigma_data / prior.scale)
    return None


@dataclass(kw_only=True)
class ProxStep(DCStep):
    """x0 <- prox of the data term with weight w_k / rho_t (sigma_y floored at ``sigma_floor``)."""

    lam: float | None = None       # None: LAM_DEFAULT by operator kind
    skip_sigma: float = 0.0
    cg_iters: int = 30
    sigma_floor: float = SIGMA_FLOOR

    name = "prox"

    def __post_init__(self):
        if self.lam is not None:
            self.lam = float(self.lam)
            if not (self.lam > 0 and math.isfinite(self.lam)):
                raise ValueError(f"lam must be finite and > 0, got {self.lam}")
        self.skip_sigma, self.sigma_floor = float(self.skip_sigma), float(self.sigma_floor)
        check_positive_int(self.cg_iters, "cg_iters")
        super().__post_init__()

    def before(self, ctx):
        x0 = ctx.x0.detach()
        if float(ctx.sigma) < self.skip_sigma:
            return x0
        sy = max(ctx.problem.sigma_y, self.sigma_floor)
        lam = self.lam if self.lam is not None else by_kind(LAM_DEFAULT, ctx.problem)
        rho = lam * sy ** 2 / float(ctx.sigma) ** 2
        gamma = ctx.weight / rho
        return ctx.problem.data.prox(x0, ctx.y, gamma, x0=x0, max_iter=self.cg_iters, warn=False)


#: lam by operator kind (validation images: benchmarks/tuning/tune_diffusion_defaults_summary.json)
LAM_DEFAULT = {"tomography": 0.3, "fourier_sampling": 0.3, "scattered_inpainting": 0.3, "box_inpainting": 0.3,
               "downsampling": 0.3, "blur_symmetric": 0.3, "blur": 0.3, "random_projection": 0.3, "identity": 1.0,
               "default": 1.0}

#: zeta by operator kind (None in the options: this table). On validation images
#: (benchmarks/tuning/tune_diffpir_zeta.json, lam = 1, 100 steps from start_sigma) zeta = 1 (fresh
#: noise, no eps) was the best of (0.03, 0.1, 0.3, 1) on all 12 cells: tomography, Fourier sampling,
#: scattered inpainting, downsampling, symmetric blur and random projections, on both shipped
#: priors; by 0.7-9.9 dB over 0.3 (unlike the paper's deblur 0.1 / SR 0.25 on its 1000-step grid).
#: box inpainting and other blurs follow their tuned siblings; identity and "default" (e.g. an
#: explicit matrix, the mixture tests) keep the former 0.3, untuned.
ZETA_DEFAULT = {"tomography": 1.0, "fourier_sampling": 1.0, "scattered_inpainting": 1.0, "box_inpainting": 1.0,
                "downsampling": 1.0, "blur_symmetric": 1.0, "blur": 1.0, "random_projection": 1.0,
                "identity": 0.3, "default": 0.3}


def default_zeta(problem, zeta: float | None) -> float:
    """``zeta`` when given, else ZETA_DEFAULT[operator_kind(A)]."""
    if zeta is not None:
        return float(zeta)
    return by_kind(ZETA_DEFAULT, problem)


@dataclass(kw_only=True)
class DiffPIROptions(DiffusionOptions, ProxStep):
    steps: int = 100
    zeta: float | None = None      # None: ZETA_DEFAULT[operator kind]

    def __post_init__(self):
        if self.zeta is not None and not 0 <= float(self.zeta) <= 1:
            raise ValueError(f"zeta must be in [0, 1], got {self.zeta}")
        super().__post_init__()


@register("diffpir", DiffPIROptions, needs=NEEDS)
def diffpir(problem, y, prior, o: DiffPIROptions, generator, progress):
    """DiffPIR (Zhu et al. 2023): x0 <- prox of the data term with rho_t = lam sigma_y²/sigma_t²,
    then x' = x0 + sigma' (sqrt(1-zeta) eps + sqrt(zeta) z), zeta by operator kind by default."""
    return run_split(prior, problem, y, o, zeta_mixing(default_zeta(problem, o.zeta)), o, generator, progress, "diffpir",
                     sigma_max=start_sigma(prior))

KIND_DEFAULTS["diffpir"] = {"lam": LAM_DEFAULT, "zeta": ZETA_DEFAULT}
